package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.AttentionLayout;
import dev.inkwell.AttentionOptions;
import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Layers;
import dev.inkwell.Tensor;
import dev.inkwell.internal.HalfFloats;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * transformers' {@code CLIPTextModel} (the Stable Diffusion text encoder) on Inkwell's layers:
 * token ids in, {@code last_hidden_state} out. Loaded from a Hugging Face {@code text_encoder}
 * folder ({@code config.json} and {@code model.safetensors}, or a sharded index), with the
 * state dict's key names ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}, ...);
 * {@code text_model.embeddings.position_ids} and any other extra tensor are ignored.
 *
 * <pre>{@code
 * try (ClipTextModel encoder = ClipTextModel.load(sd15.resolve("text_encoder"), inkwell);
 *      Tensor hidden = encoder.forward(tokenizer.encode(List.of(prompt, "")))) {   // [2, 77, 768]
 *     ...
 * }
 * }</pre>
 *
 * <p>The forward pass is transformers', module by module: embeddings = token_embedding(ids) +
 * position_embedding(0..L-1); per {@code CLIPEncoderLayer}: x += out_proj(attention(layer_norm1(x)))
 * with the causal mask and scale head_dim^-0.5 (no padding mask: {@code CLIPTextModel} given
 * only input_ids attends to the padding tokens too, as Stable Diffusion expects), then
 * x += fc2(act(fc1(layer_norm2(x)))); last, final_layer_norm. The heads are views [B, L, H, D]
 * of the projections, read by the attention kernel's {@link AttentionLayout#BLHD} layout with no
 * permute copies.
 *
 * <p><b>Embedding lookup.</b> The token embedding table stays in host memory (it is a gather,
 * not arithmetic): {@link #forward} builds the [B, L, hidden] embeddings on the host, summing
 * token and position rows in float32 and rounding once to the compute type, then copies them
 * to the context's device. Every other weight lives in the context's memory.
 *
 * <p><b>Element types.</b> The compute type (float32 by default; float16 or bfloat16 with
 * {@link #load(Path, Inkwell, ElementType)}) is the type of every weight and activation:
 * weights stored in another type are converted once on load (rounded to nearest even when
 * narrowing). Each layer computes in float32 and rounds its output once. The residual adds
 * of a 16-bit model run in Java (widened, added in float32, rounded once): there is no 16-bit
 * add kernel yet, so on a CUDA context each such add copies through the host.
 *
 * <p><b>Memory and threads.</b> The weights are owned by the model and freed by
 * {@link #close()}. {@link #forward} allocates its activations per call and frees each as soon
 * as it is used, and only reads the weights: several threads may call it at once, as far as
 * the context may be shared between threads. {@link #close()} must not run while a forward
 * pass is in progress.
 */
public final class ClipTextModel implements AutoCloseable {
    private static final String PREFIX = "text_model.";

    /** One {@code CLIPEncoderLayer}'s weights, named as its state dict. */
    private record EncoderLayer(Tensor layerNorm1Weight, Tensor layerNorm1Bias, Tensor qProjWeight, Tensor qProjBias,
            Tensor kProjWeight, Tensor kProjBias, Tensor vProjWeight, Tensor vProjBias, Tensor outProjWeight,
            Tensor outProjBias, Tensor layerNorm2Weight, Tensor layerNorm2Bias, Tensor fc1Weight, Tensor fc1Bias,
            Tensor fc2Weight, Tensor fc2Bias) {}

    private final ClipTextConfig config;
    private final Inkwell context;
    private final ElementType type;
    private final Arena hostArena;           // owns the host token table
    private final Tensor tokenEmbedding;     // host, [vocab, hidden], compute type
    private final float[] positionEmbedding; // [maxPos * hidden], values of the compute type
    private final List<EncoderLayer> layers;
    private final Tensor finalLayerNormWeight;
    private final Tensor finalLayerNormBias;
    private final List<Tensor> owned;        // every device weight, closed with the model
    private final AttentionOptions attention;
    private volatile boolean closed;

    private ClipTextModel(ClipTextConfig config, Inkwell context, ElementType type, Arena hostArena,
            Tensor tokenEmbedding, float[] positionEmbedding, List<EncoderLayer> layers, Tensor finalLayerNormWeight,
            Tensor finalLayerNormBias, List<Tensor> owned) {
        this.config = config;
        this.context = context;
        this.type = type;
        this.hostArena = hostArena;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.layers = layers;
        this.finalLayerNormWeight = finalLayerNormWeight;
        this.finalLayerNormBias = finalLayerNormBias;
        this.owned = owned;
        this.attention = AttentionOptions.defaults().withLayout(AttentionLayout.BLHD).withCausal(true)
                .withScale(1.0 / Math.sqrt(config.headDim()));
    }

    /**
     * Loads a float32 model: {@code config.json} and the safetensors weights of a
     * {@code text_encoder} folder (weights stored as float16 or bfloat16 are widened).
     *
     * @param textEncoderDir the folder
     * @param context where the weights live and the forward pass runs
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid, or a
     *     weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalStateException if the context is closed
     */
    public static ClipTextModel load(Path textEncoderDir, Inkwell context) throws IOException {
        return load(textEncoderDir, context, ElementType.FLOAT32);
    }

    /**
     * Loads a model computing in {@code type}: every weight converted to it once, whatever
     * type the file stores.
     *
     * @param textEncoderDir the folder with {@code config.json} and the weights
     * @param context where the weights live and the forward pass runs
     * @param type the compute type: float32, float16 or bfloat16
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid, or a
     *     weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalStateException if the context is closed
     */
    public static ClipTextModel load(Path textEncoderDir, Inkwell context, ElementType type) throws IOException {
        Objects.requireNonNull(textEncoderDir, "textEncoderDir");
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(type, "type");
        ClipTextConfig config = ClipTextConfig.read(textEncoderDir.resolve("config.json"));
        try (SafeTensors weights = SafeTensors.open(textEncoderDir)) {
            return load(config, weights, context, type);
        }
    }

    /**
     * Builds a model from a configuration and an open checkpoint (copying what it needs: the
     * checkpoint may be closed afterwards).
     *
     * @param config the configuration
     * @param weights the checkpoint, with transformers' key names
     * @param context where the weights live and the forward pass runs
     * @param type the compute type: float32, float16 or bfloat16
     * @return the model, which the caller closes
     * @throws IOException naming the file and tensor if a weight is missing, of an unsupported
     *     dtype or misshaped
     * @throws IllegalStateException if the context or the checkpoint is closed
     */
    public static ClipTextModel load(ClipTextConfig config, SafeTensors weights, Inkwell context, ElementType type)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(type, "type");
        int hidden = config.hiddenSize(), inner = config.intermediateSize();
        List<Tensor> owned = new ArrayList<>();
        Arena hostArena = Arena.ofShared();
        try {
            Tensor tokens = hostCopy(weights, PREFIX + "embeddings.token_embedding.weight", hostArena, type,
                    config.vocabSize(), hidden);
            float[] positions = hostCopy(weights, PREFIX + "embeddings.position_embedding.weight", hostArena, type,
                    config.maxPositionEmbeddings(), hidden).toArray();
            Loader l = new Loader(weights, context, type, owned);
            List<EncoderLayer> layers = new ArrayList<>();
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                String p = PREFIX + "encoder.layers." + i + ".";
                layers.add(new EncoderLayer(l.get(p + "layer_norm1.weight", hidden), l.get(p + "layer_norm1.bias", hidden),
                        l.get(p + "self_attn.q_proj.weight", hidden, hidden), l.get(p + "self_attn.q_proj.bias", hidden),
                        l.get(p + "self_attn.k_proj.weight", hidden, hidden), l.get(p + "self_attn.k_proj.bias", hidden),
                        l.get(p + "self_attn.v_proj.weight", hidden, hidden), l.get(p + "self_attn.v_proj.bias", hidden),
                        l.get(p + "self_attn.out_proj.weight", hidden, hidden),
                        l.get(p + "self_attn.out_proj.bias", hidden),
                        l.get(p + "layer_norm2.weight", hidden), l.get(p + "layer_norm2.bias", hidden),
                        l.get(p + "mlp.fc1.weight", inner, hidden), l.get(p + "mlp.fc1.bias", inner),
                        l.get(p + "mlp.fc2.weight", hidden, inner), l.get(p + "mlp.fc2.bias", hidden)));
            }
            Tensor lnw = l.get(PREFIX + "final_layer_norm.weight", hidden);
            Tensor lnb = l.get(PREFIX + "final_layer_norm.bias", hidden);
            return new ClipTextModel(config, context, type, hostArena, tokens, positions, List.copyOf(layers), lnw, lnb,
                    List.copyOf(owned));
        } catch (IOException | RuntimeException | Error e) {
            owned.forEach(Tensor::close);
            hostArena.close();
            throw e;
        }
    }

    /** Device copies of weights, each recorded in {@code owned} as soon as it exists. */
    private record Loader(SafeTensors weights, Inkwell context, ElementType type, List<Tensor> owned) {
        Tensor get(String name, long... shape) throws IOException {
            Tensor t = weights.load(name, context, type, shape);
            owned.add(t);
            return t;
        }
    }

    /** A host copy of a tensor in {@code type}, owned by {@code arena}; the shape checked as {@link SafeTensors#load}. */
    private static Tensor hostCopy(SafeTensors weights, String name, Arena arena, ElementType type, long... shape)
            throws IOException {
        SafeTensors.Info info = weights.info(name);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new IOException(info.file() + ": tensor " + name + " has shape " + Arrays.toString(info.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        Tensor src = weights.tensor(name); // borrowed from the mapping: valid while weights is open
        Tensor dst = Tensor.allocate(arena, type, shape);
        if (src.elementType() == type) {
            MemorySegment.copy(src.segment(), 0, dst.segment(), 0, dst.segment().byteSize());
            return dst;
        }
        MemorySegment from = src.segment(), to = dst.segment();
        for (long i = 0, n = dst.elementCount(); i < n; i++) {
            write(to, type, i, read(from, src.elementType(), i));
        }
        return dst;
    }

    private static float read(MemorySegment s, ElementType type, long i) {
        return switch (type) {
            case FLOAT32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case FLOAT16 -> HalfFloats.float16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i));
        };
    }

    private static void write(MemorySegment s, ElementType type, long i, float v) {
        switch (type) {
            case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            case FLOAT16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToFloat16(v));
            case BFLOAT16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBfloat16(v));
        }
    }

    /**
     * The configuration.
     *
     * @return the config the model was built with
     */
    public ClipTextConfig config() {
        return config;
    }

    /**
     * The compute type of weights, activations and result.
     *
     * @return float32, float16 or bfloat16
     */
    public ElementType elementType() {
        return type;
    }

    /**
     * {@code CLIPTextModel(input_ids).last_hidden_state}.
     *
     * @param inputIds one row of token ids per prompt, all rows of one length 1..
     *     max_position_embeddings (77: {@code ClipTokenizer.encode}'s output), each id in
     *     0..vocab_size-1
     * @return a new tensor [B, L, hidden] of the compute type in the context's memory, which
     *     the caller closes
     * @throws NullPointerException if inputIds or a row is null
     * @throws IllegalArgumentException naming the row and position if there are no rows, the
     *     rows differ in length or are too long, or an id is out of range
     * @throws IllegalStateException if the model or the context is closed
     */
    public Tensor forward(int[][] inputIds) {
        Objects.requireNonNull(inputIds, "inputIds");
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        int batch = checkIds(inputIds);
        int length = inputIds[0].length, hidden = config.hiddenSize();
        int heads = config.numAttentionHeads(), headDim = config.headDim();
        Layers nn = context.layers();
        Tensor x = embeddings(inputIds, batch, length);
        try {
            for (EncoderLayer w : layers) {
                // self-attention block: x += out_proj(attn(layer_norm1(x)))
                try (Tensor h = nn.layerNorm(x, w.layerNorm1Weight(), w.layerNorm1Bias(), config.layerNormEps());
                        Tensor q = nn.linear(h, w.qProjWeight(), w.qProjBias());
                        Tensor k = nn.linear(h, w.kProjWeight(), w.kProjBias());
                        Tensor v = nn.linear(h, w.vProjWeight(), w.vProjBias());
                        Tensor a = context.attention(q.view(batch, length, heads, headDim),
                                k.view(batch, length, heads, headDim), v.view(batch, length, heads, headDim), attention);
                        Tensor o = nn.linear(a.view(batch, length, hidden), w.outProjWeight(), w.outProjBias())) {
                    addInPlace(x, o);
                }
                // MLP block: x += fc2(act(fc1(layer_norm2(x)))), the activation fused into fc1
                try (Tensor h = nn.layerNorm(x, w.layerNorm2Weight(), w.layerNorm2Bias(), config.layerNormEps());
                        Tensor f = nn.linear(h, w.fc1Weight(), w.fc1Bias(), config.activation());
                        Tensor o = nn.linear(f, w.fc2Weight(), w.fc2Bias())) {
                    addInPlace(x, o);
                }
            }
            return nn.layerNorm(x, finalLayerNormWeight, finalLayerNormBias, config.layerNormEps());
        } finally {
            x.close();
        }
    }

    private int checkIds(int[][] inputIds) {
        if (inputIds.length == 0) {
            throw new IllegalArgumentException("inputIds has no rows");
        }
        int length = Objects.requireNonNull(inputIds[0], "inputIds[0]").length;
        if (length < 1 || length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("inputIds[0] has " + length + " ids, expected 1.."
                    + config.maxPositionEmbeddings() + " (max_position_embeddings)");
        }
        for (int b = 0; b < inputIds.length; b++) {
            int[] row = inputIds[b];
            if (row == null) {
                throw new NullPointerException("inputIds[" + b + "]");
            }
            if (row.length != length) {
                throw new IllegalArgumentException("inputIds[" + b + "] has " + row.length + " ids, inputIds[0] "
                        + length + " (every row one length)");
            }
            for (int i = 0; i < length; i++) {
                if (row[i] < 0 || row[i] >= config.vocabSize()) {
                    throw new IllegalArgumentException("inputIds[" + b + "][" + i + "] is " + row[i] + ", outside 0.."
                            + (config.vocabSize() - 1) + " (vocab_size " + config.vocabSize() + ")");
                }
            }
        }
        return inputIds.length;
    }

    /** token_embedding(ids) + position_embedding(0..L-1), built on the host, moved to the context. */
    private Tensor embeddings(int[][] inputIds, int batch, int length) {
        int hidden = config.hiddenSize();
        float[] data = new float[Math.multiplyExact(Math.multiplyExact(batch, length), hidden)];
        MemorySegment table = tokenEmbedding.segment();
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < length; i++) {
                long row = (long) inputIds[b][i] * hidden;
                int at = (b * length + i) * hidden;
                for (int c = 0; c < hidden; c++) {
                    data[at + c] = read(table, type, row + c) + positionEmbedding[i * hidden + c];
                }
            }
        }
        Tensor host = Tensor.fromArray(data, type, batch, length, hidden);
        if (context.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return context.copyToDevice(host);
        }
    }

    /** x += y: the add kernel for float32; for 16-bit types, in Java (widened, added, rounded once). */
    private void addInPlace(Tensor x, Tensor y) {
        if (type == ElementType.FLOAT32) {
            context.ops().add(x, y, x);
            return;
        }
        if (context.device() == Device.CPU) {
            addHost(x, y);
            return;
        }
        try (Tensor hx = context.copyToHost(x); Tensor hy = context.copyToHost(y)) {
            addHost(hx, hy);
            context.copy(hx, x);
        }
    }

    private void addHost(Tensor x, Tensor y) {
        MemorySegment a = x.segment(), b = y.segment();
        for (long i = 0, n = x.elementCount(); i < n; i++) {
            write(a, type, i, read(a, type, i) + read(b, type, i));
        }
    }

    /**
     * Frees the weights. Idempotent; no forward pass may be in progress.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        owned.forEach(Tensor::close);
        hostArena.close();
    }

    /**
     * The configuration's sizes and the compute type.
     *
     * @return a readable description
     */
    @Override
    public String toString() {
        return "ClipTextModel[layers " + config.numHiddenLayers() + ", hidden " + config.hiddenSize() + ", heads "
                + config.numAttentionHeads() + ", " + config.hiddenAct() + ", " + type + ", " + context.device() + "]";
    }
}
