package dev.inkwell.cli;

import dev.inkwell.ClipTokenizer;
import dev.inkwell.Device;
import dev.inkwell.Tensor;
import dev.inkwell.models.ClipTextModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Golden cases of the CLIP manifest ({@code golden/models/clip/manifest.json}): {@code tokenizer}
 * cases (each text through {@link ClipTokenizer#encode(String)}, compared with
 * {@code ids_padded_77} exactly) and {@code text_encoder} cases (the case's input_ids through
 * {@link ClipTextModel#forward}, compared with {@code last_hidden_state} within the case's
 * tolerance; the ids are also checked against the tokenizer's for the case's prompts). The
 * tokenizer and model are loaded once, from the manifest's folder ({@code tokenizer/},
 * {@code text_encoder/}). The prose keys list no cases.
 */
final class GoldenClipCases {
    /** The manifest keys this class answers for. */
    static final Set<String> KINDS = Set.of("tokenizer", "text_encoder", "tokenizer_files", "text_cleaning",
            "pre_tokenizer_regex");

    private final GoldenCases g;
    private ClipTokenizer tokenizer;

    GoldenClipCases(GoldenCases cases) {
        this.g = cases;
    }

    List<GoldenCases.Case> expand(String kind, Object entries) {
        List<GoldenCases.Case> out = new ArrayList<>();
        if (!kind.equals("tokenizer") && !kind.equals("text_encoder")) {
            return out;
        }
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = GoldenCases.text(c, "name");
            out.add(new GoldenCases.Case(kind, name, kind.equals("tokenizer") ? () -> tokenize(c, name)
                    : () -> encode(c, name)));
        }
        return out;
    }

    private ClipTokenizer tokenizer() throws IOException {
        if (tokenizer == null) {
            tokenizer = ClipTokenizer.load(g.golden.resolve("tokenizer"));
        }
        return tokenizer;
    }

    private GoldenCases.Result tokenize(Map<?, ?> c, String name) throws IOException {
        String match = String.valueOf(c.get("match"));
        if (!match.equals("exact")) {
            return new GoldenCases.Result(false, "tokenizer", name, "unsupported match '" + match + "'");
        }
        int[] want = numbers(c.get("ids_padded_77"));
        long start = System.nanoTime();
        int[] got = tokenizer().encode(GoldenCases.text(c, "text"));
        double ms = (System.nanoTime() - start) / 1e6;
        boolean same = Arrays.equals(got, want);
        return new GoldenCases.Result(same, "tokenizer", name, same ? String.format("77 ids exact, %.2f ms", ms)
                : "ids " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
    }

    private GoldenCases.Result encode(Map<?, ?> c, String name) throws IOException {
        String model = c.get("model") instanceof String s ? s : "text_encoder";
        Map<?, ?> tol = GoldenCases.object(c, "tolerance");
        double atol = GoldenCases.number(tol, "atol"), rtol = GoldenCases.number(tol, "rtol");
        String expected = GoldenCases.text(c, "expected");
        int[][] ids = readIds(g.golden.resolve(GoldenCases.text(c, "input_ids")));
        if (c.get("prompts") instanceof List<?> prompts) {
            List<String> texts = new ArrayList<>();
            prompts.forEach(p -> texts.add(String.valueOf(p)));
            int[][] tokens = tokenizer().encode(texts);
            if (!Arrays.deepEquals(tokens, ids)) {
                return new GoldenCases.Result(false, "text_encoder", name, "the tokenizer's ids for the prompts differ "
                        + "from input_ids");
            }
        }
        try (ClipTextModel encoder = ClipTextModel.load(g.golden.resolve(model), g.inkwell);
                Tensor want = Tensor.readNpy(g.golden.resolve(expected))) {
            long start = System.nanoTime();
            try (Tensor got = encoder.forward(ids);
                    Tensor host = got.device() == Device.CPU ? null : g.inkwell.copyToHost(got)) {
                double ms = (System.nanoTime() - start) / 1e6;
                Tensor result = host == null ? got : host;
                g.save(result, expected);
                if (!Arrays.equals(result.shape(), want.shape())) {
                    return new GoldenCases.Result(false, "text_encoder", name, "shape " + Arrays.toString(result.shape())
                            + ", expected " + Arrays.toString(want.shape()));
                }
                return GoldenCases.compareTensors("text_encoder", name, result.toArray(), want.toArray(), atol, rtol, ms);
            }
        }
    }

    private static int[] numbers(Object list) {
        if (!(list instanceof List<?> l)) {
            throw new IllegalArgumentException("manifest case has no id list");
        }
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Double) l.get(i)).intValue();
        }
        return out;
    }

    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\((\\d+),\\s*(\\d+)\\)");

    /** A C-order little-endian int64 (or int32) .npy of shape [B, L] as rows of ids. */
    static int[][] readIds(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 10 || bytes[0] != (byte) 0x93 || bytes[1] != 'N' || bytes[6] != 1) {
            throw new IOException(file + ": not a version-1 .npy file");
        }
        int headerLength = (bytes[8] & 0xFF) | (bytes[9] & 0xFF) << 8;
        if (10 + headerLength > bytes.length) {
            throw new IOException(file + ": truncated header");
        }
        String header = new String(bytes, 10, headerLength, StandardCharsets.ISO_8859_1);
        int width = header.contains("'<i8'") ? 8 : header.contains("'<i4'") ? 4 : 0;
        Matcher m = SHAPE.matcher(header);
        if (width == 0 || header.contains("True") || !m.find()) {
            throw new IOException(file + ": expected a C-order int64 or int32 array [B, L], header " + header.trim());
        }
        int rows = Integer.parseInt(m.group(1)), cols = Integer.parseInt(m.group(2));
        long need = 10L + headerLength + (long) rows * cols * width;
        if (need != bytes.length) {
            throw new IOException(file + ": " + bytes.length + " bytes, expected " + need + " for " + rows + "x" + cols);
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, 10 + headerLength, rows * cols * width).order(ByteOrder.LITTLE_ENDIAN);
        int[][] ids = new int[rows][cols];
        for (int[] row : ids) {
            for (int i = 0; i < cols; i++) {
                long v = width == 8 ? data.getLong() : data.getInt();
                if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                    throw new IOException(file + ": id " + v + " out of range");
                }
                row[i] = (int) v;
            }
        }
        return ids;
    }
}
