package dev.inkwell;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's tokenizer as Stable Diffusion 1.x uses it (openai/CLIP's {@code SimpleTokenizer},
 * Hugging Face's {@code CLIPTokenizer}): byte-level BPE over a cleaned, lower-cased text, the
 * ids framed by {@code <|startoftext|>} and {@code <|endoftext|>}, cut or padded to the model's
 * length (77).
 *
 * <p>Loaded from a diffusers {@code tokenizer/} folder: {@code vocab.json} (token to id),
 * {@code merges.txt} (merge ranks; its first line is a version comment, and as openai/CLIP does
 * at most 48,894 merges are read), and, when present, {@code tokenizer_config.json}
 * ({@code model_max_length}, special tokens) and {@code special_tokens_map.json} (special tokens;
 * it wins over the config, as in transformers). Missing special tokens default to CLIPTokenizer's
 * ({@code <|endoftext|>} for end, padding and unknown); a missing {@code model_max_length} is 77.
 *
 * <p>Text cleaning follows openai/CLIP: ftfy's fixes (reimplemented in part: see
 * {@code ClipTextFixer}), HTML references decoded twice, white space collapsed and stripped,
 * lower case ({@link java.util.Locale#ROOT}). The pre-token pattern is CLIP's, with Unicode
 * letter and number classes: {@code <|startoftext|>}, {@code <|endoftext|>}, the English
 * contractions, runs of letters, single digits, runs of other non-space characters.
 *
 * <p>Immutable apart from an internal BPE cache; one instance may be shared by any number of
 * threads.
 */
public final class ClipTokenizer {
    private static final System.Logger LOG = System.getLogger(ClipTokenizer.class.getName());

    /** openai/CLIP reads merges[1 : 49152 - 256 - 2 + 1]: its vocabulary is 49,408 ids. */
    static final int MAX_MERGES = 49152 - 256 - 2;
    private static final String START_OF_TEXT = "<|startoftext|>";
    private static final String END_OF_TEXT = "<|endoftext|>";
    /** CLIP's context length, for a tokenizer_config.json without model_max_length. */
    private static final int DEFAULT_MAX_LENGTH = 77;
    /** Above this a model_max_length is transformers' "unset" (1e30) or a mistake. */
    private static final int LARGEST_MAX_LENGTH = 1 << 16;

    private static final Pattern PRE_TOKENS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final Map<String, Integer> vocab;
    private final ClipBpe bpe;
    private final int maxLength;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int unkId;

    private ClipTokenizer(Map<String, Integer> vocab, ClipBpe bpe, int maxLength, int bosId, int eosId, int padId, int unkId) {
        this.vocab = vocab;
        this.bpe = bpe;
        this.maxLength = maxLength;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.unkId = unkId;
    }

    /**
     * Loads the tokenizer of a diffusers {@code tokenizer/} folder.
     *
     * @param tokenizerDir the folder with {@code vocab.json} and {@code merges.txt} (and usually
     *     {@code tokenizer_config.json} and {@code special_tokens_map.json})
     * @return the tokenizer
     * @throws IOException if a required file is missing or a file cannot be read or is not what
     *     a CLIP tokenizer needs; the message names the file
     * @throws NullPointerException if {@code tokenizerDir} is null
     */
    public static ClipTokenizer load(Path tokenizerDir) throws IOException {
        Objects.requireNonNull(tokenizerDir, "tokenizerDir");
        if (!Files.isDirectory(tokenizerDir)) {
            throw new NoSuchFileException(tokenizerDir.toString(), null, "CLIP tokenizer folder not found");
        }
        Path vocabFile = tokenizerDir.resolve("vocab.json");
        Path mergesFile = tokenizerDir.resolve("merges.txt");
        Path configFile = tokenizerDir.resolve("tokenizer_config.json");
        Path specialFile = tokenizerDir.resolve("special_tokens_map.json");

        Map<String, Integer> vocab = readVocab(vocabFile);
        Map<String, Integer> ranks = readMerges(mergesFile);
        JsonNode config = readOptionalObject(configFile);
        JsonNode special = readOptionalObject(specialFile);

        int maxLength = DEFAULT_MAX_LENGTH;
        JsonNode max = config == null ? null : config.get("model_max_length");
        if (max != null && !max.isNull()) {
            if (!max.isIntegralNumber() || max.asLong() < 2 || max.asLong() > LARGEST_MAX_LENGTH) {
                throw new IOException(configFile + ": model_max_length " + max + " is not an integer in 2.." + LARGEST_MAX_LENGTH);
            }
            maxLength = max.asInt();
        }
        int bos = specialTokenId("bos_token", START_OF_TEXT, vocab, vocabFile, config, configFile, special, specialFile);
        int eos = specialTokenId("eos_token", END_OF_TEXT, vocab, vocabFile, config, configFile, special, specialFile);
        int pad = specialTokenId("pad_token", END_OF_TEXT, vocab, vocabFile, config, configFile, special, specialFile);
        int unk = specialTokenId("unk_token", END_OF_TEXT, vocab, vocabFile, config, configFile, special, specialFile);
        for (String literal : List.of(START_OF_TEXT, END_OF_TEXT)) {
            if (!vocab.containsKey(literal)) {
                throw new IOException(vocabFile + ": has no id for " + literal);
            }
        }
        return new ClipTokenizer(vocab, new ClipBpe(ranks), maxLength, bos, eos, pad, unk);
    }

    private static Map<String, Integer> readVocab(Path file) throws IOException {
        JsonNode root = readObject(file);
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            JsonNode id = e.getValue();
            if (!id.isIntegralNumber() || id.asLong() < 0 || id.asLong() > Integer.MAX_VALUE) {
                throw new IOException(file + ": id of token \"" + e.getKey() + "\" is " + id + ", not an integer >= 0");
            }
            vocab.put(e.getKey(), id.asInt());
        }
        if (vocab.isEmpty()) {
            throw new IOException(file + ": empty vocabulary");
        }
        return Map.copyOf(vocab);
    }

    /** Merge "first second" to its rank, from merges.txt's second line on. */
    private static Map<String, Integer> readMerges(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "CLIP tokenizer file missing");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        // the last merges may be followed by blank lines; nothing else is skipped
        int end = lines.size();
        while (end > 1 && lines.get(end - 1).isBlank()) {
            end--;
        }
        end = Math.min(end, 1 + MAX_MERGES);
        Map<String, Integer> ranks = new HashMap<>(end * 2);
        for (int i = 1; i < end; i++) {
            String[] parts = lines.get(i).trim().split("\\s+");
            if (parts.length != 2 || parts[0].isEmpty()) {
                throw new IOException(file + ": line " + (i + 1) + " is not a merge \"first second\": \"" + lines.get(i) + "\"");
            }
            ranks.put(parts[0] + " " + parts[1], i - 1);
        }
        if (ranks.isEmpty()) {
            throw new IOException(file + ": no merges after the version line");
        }
        return Map.copyOf(ranks);
    }

    private static JsonNode readOptionalObject(Path file) throws IOException {
        return Files.exists(file) ? readObject(file) : null;
    }

    private static JsonNode readObject(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "CLIP tokenizer file missing");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new IOException(file + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new IOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": not a JSON object");
        }
        return root;
    }

    /** The id of a special token named by special_tokens_map.json, else tokenizer_config.json, else the default. */
    private static int specialTokenId(String key, String fallback, Map<String, Integer> vocab, Path vocabFile,
            JsonNode config, Path configFile, JsonNode special, Path specialFile) throws IOException {
        String token = fallback;
        Path from = null;
        for (Map.Entry<JsonNode, Path> source : List.of(Map.entry(nullToMissing(config), configFile), Map.entry(nullToMissing(special), specialFile))) {
            JsonNode value = source.getKey().get(key);
            if (value == null || value.isNull()) {
                continue;
            }
            // a plain string, or transformers' serialised AddedToken {"content": ...}
            JsonNode content = value.isObject() ? value.get("content") : value;
            if (content == null || !content.isTextual()) {
                throw new IOException(source.getValue() + ": " + key + " is " + value + ", not a token string");
            }
            token = content.textValue();
            from = source.getValue();
        }
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IOException((from != null ? from + ": " + key : key + " (default)") + " \"" + token + "\" is not in " + vocabFile);
        }
        return id;
    }

    private static JsonNode nullToMissing(JsonNode node) {
        return node != null ? node : JSON.missingNode();
    }

    /**
     * The model's sequence length: every {@link #encode(String)} result has this many ids.
     *
     * @return {@code model_max_length} of tokenizer_config.json (77 for Stable Diffusion)
     */
    public int maxLength() {
        return maxLength;
    }

    /**
     * The id that fills a sequence after the end token.
     *
     * @return the pad token's id (49407, {@code <|endoftext|>}, for Stable Diffusion 1.x; 0,
     *     {@code !}, for checkpoints that pad with "!")
     */
    public int padTokenId() {
        return padId;
    }

    /**
     * The id that starts every sequence.
     *
     * @return the id of {@code <|startoftext|>} (49406 in CLIP's vocabulary)
     */
    public int bosTokenId() {
        return bosId;
    }

    /**
     * The id that ends the text of every sequence (always present, also after truncation).
     *
     * @return the id of {@code <|endoftext|>} (49407 in CLIP's vocabulary)
     */
    public int eosTokenId() {
        return eosId;
    }

    /**
     * Token ids for the text encoder: start token, the text's tokens, end token, padding, exactly
     * {@link #maxLength()} ids. A text of more than {@code maxLength() - 2} tokens is cut to that
     * many (the end token stays last) and a warning is logged (System.Logger
     * {@code dev.inkwell.ClipTokenizer}) with the part that was dropped.
     *
     * @param text the prompt (any text; empty gives start, end and padding)
     * @return {@link #maxLength()} ids
     * @throws NullPointerException if {@code text} is null
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        List<String> symbols = tokens(text);
        int room = maxLength - 2;
        if (symbols.size() > room) {
            LOG.log(System.Logger.Level.WARNING, () -> "CLIP prompt truncated to " + maxLength + " tokens: kept "
                    + room + " of its " + symbols.size() + " text tokens, dropped \""
                    + excerpt(decode(symbols.subList(room, symbols.size()))) + "\"");
        }
        int[] ids = new int[maxLength];
        Arrays.fill(ids, padId);
        ids[0] = bosId;
        int n = Math.min(room, symbols.size());
        for (int i = 0; i < n; i++) {
            ids[1 + i] = id(symbols.get(i));
        }
        ids[1 + n] = eosId;
        return ids;
    }

    /**
     * {@link #encode(String)} for each text, as one batch.
     *
     * @param texts the prompts
     * @return one row of {@link #maxLength()} ids per text, in order
     * @throws NullPointerException if {@code texts} or one of its elements is null
     */
    public int[][] encode(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        int[][] out = new int[texts.size()][];
        for (int i = 0; i < out.length; i++) {
            String text = texts.get(i);
            if (text == null) {
                throw new NullPointerException("texts[" + i + "] is null");
            }
            out[i] = encode(text);
        }
        return out;
    }

    /**
     * The BPE tokens of a text, for debugging: no start or end token, no truncation. Each token
     * is written in the vocabulary's byte-level form: UTF-8 bytes as printable characters
     * (a space is never part of one; é is {@code Ã©}), {@code </w>} at the end of a word.
     *
     * @param text any text
     * @return the tokens, in order ({@code "a photo"} gives {@code [a</w>, photo</w>]})
     * @throws NullPointerException if {@code text} is null
     */
    public List<String> tokens(String text) {
        Objects.requireNonNull(text, "text");
        String clean = ClipTextCleaner.clean(text);
        List<String> out = new ArrayList<>();
        Matcher m = PRE_TOKENS.matcher(clean);
        while (m.find()) {
            String piece = m.group();
            if (piece.equals(START_OF_TEXT) || piece.equals(END_OF_TEXT)) {
                out.add(piece); // written in the text: its own id, as openai/CLIP's cache has it
            } else {
                out.addAll(bpe.encode(piece));
            }
        }
        return out;
    }

    /**
     * The text's token ids without start, end, truncation or padding (openai/CLIP's
     * {@code SimpleTokenizer.encode}).
     */
    int[] textIds(String text) {
        List<String> symbols = tokens(text);
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = id(symbols.get(i));
        }
        return ids;
    }

    /** A token's id; the unknown token's for one the vocabulary lacks (a vocab.json that does not fit merges.txt). */
    private int id(String symbol) {
        Integer id = vocab.get(symbol);
        return id != null ? id : unkId;
    }

    /** At most 200 characters of s, for a log line. */
    private static String excerpt(String s) {
        return s.length() <= 200 ? s : s.substring(0, Character.isHighSurrogate(s.charAt(199)) ? 199 : 200) + "…";
    }

    /** BPE tokens back to text, for messages: word ends become spaces, bad UTF-8 becomes U+FFFD. */
    static String decode(List<String> symbols) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String symbol : symbols) {
            String s = symbol.replace(ClipBpe.END_OF_WORD, " ");
            for (int i = 0; i < s.length(); i++) {
                int b = s.charAt(i) == ' ' ? ' ' : ClipBpe.charToByte(s.charAt(i));
                if (b >= 0) {
                    bytes.write(b);
                }
            }
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8).strip();
    }
}
