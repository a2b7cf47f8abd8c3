package dev.inkwell.cli;

import dev.inkwell.Activation;
import dev.inkwell.ElementType;
import dev.inkwell.Layers;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Golden cases of the layers manifest ({@code golden/layers/manifest.json}): group_norm,
 * layer_norm, linear, geglu, activation and timestep_embedding, each run through
 * {@link Layers} and compared with PyTorch's float64 result within the case's tolerance.
 * A case's {@code dtype} (float32, float16, bfloat16) is the element type every tensor of
 * the call is converted to.
 */
final class GoldenLayerCases {
    private final GoldenCases g;

    GoldenLayerCases(GoldenCases cases) {
        this.g = cases;
    }

    /** The manifest's input {@code key} in the case's element type, in the context's memory; null when absent. */
    private Tensor load(Map<?, ?> c, String key) throws IOException {
        Object file = c.get(key);
        if (file == null) {
            return null;
        }
        ElementType type = elementType(c);
        Tensor host = Tensor.readNpy(g.golden.resolve(GoldenCases.text(c, key)));
        if (host.elementType() != type) {
            try (Tensor read = host) {
                host = read.to(type);
            }
        }
        return g.input(host);
    }

    private static ElementType elementType(Map<?, ?> c) {
        Object dtype = c.get("dtype");
        return switch (dtype == null ? "float32" : String.valueOf(dtype)) {
            case "float32" -> ElementType.FLOAT32;
            case "float16" -> ElementType.FLOAT16;
            case "bfloat16" -> ElementType.BFLOAT16;
            default -> throw new IllegalArgumentException("unsupported dtype '" + dtype + "'");
        };
    }

    /** A manifest activation name (null: none) as the enum. */
    static Activation activation(Object name) {
        if (name == null) {
            return Activation.NONE;
        }
        return switch (String.valueOf(name)) {
            case "none" -> Activation.NONE;
            case "silu" -> Activation.SILU;
            case "gelu" -> Activation.GELU;
            case "gelu_tanh" -> Activation.GELU_TANH;
            case "quick_gelu" -> Activation.QUICK_GELU;
            case "relu" -> Activation.RELU;
            default -> throw new IllegalArgumentException("unsupported activation '" + name + "'");
        };
    }

    /** Runs the layer, saves its output at the expected file's path and compares. */
    private GoldenCases.Result check(String kind, Map<?, ?> c, Layer layer) throws IOException {
        String name = GoldenCases.text(c, "name");
        String expected = GoldenCases.text(c, "expected");
        Map<?, ?> tolerance = GoldenCases.object(c, "tolerance");
        try (Tensor want = Tensor.readNpy(g.golden.resolve(expected))) {
            long start = System.nanoTime();
            try (Tensor got = layer.run(g.inkwell.layers())) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(got, expected);
                if (!Arrays.equals(got.shape(), want.shape())) {
                    return new GoldenCases.Result(false, kind, name,
                            "shape " + Arrays.toString(got.shape()) + ", expected " + Arrays.toString(want.shape()));
                }
                return GoldenCases.compareTensors(kind, name, got.toArray(), want.toArray(),
                        GoldenCases.number(tolerance, "atol"), GoldenCases.number(tolerance, "rtol"), ms);
            }
        }
    }

    @FunctionalInterface
    private interface Layer {
        Tensor run(Layers layers) throws IOException;
    }

    GoldenCases.Result groupNorm(Map<?, ?> c) throws IOException {
        Object layout = c.get("layout");
        if (layout != null && !"NCHW".equals(layout)) {
            return new GoldenCases.Result(false, "group_norm", GoldenCases.text(c, "name"), "unsupported layout '" + layout + "'");
        }
        int groups = (int) GoldenCases.number(c, "groups");
        double eps = GoldenCases.number(c, "eps");
        Activation activation = activation(c.get("activation"));
        try (Tensor x = load(c, "x"); Tensor w = load(c, "weight"); Tensor b = load(c, "bias")) {
            return check("group_norm", c, layers -> layers.groupNorm(x, groups, w, b, eps, activation));
        }
    }

    GoldenCases.Result layerNorm(Map<?, ?> c) throws IOException {
        double eps = GoldenCases.number(c, "eps");
        try (Tensor x = load(c, "x"); Tensor w = load(c, "weight"); Tensor b = load(c, "bias")) {
            return check("layer_norm", c, layers -> layers.layerNorm(x, w, b, eps));
        }
    }

    GoldenCases.Result linear(Map<?, ?> c) throws IOException {
        Activation activation = activation(c.get("activation"));
        try (Tensor x = load(c, "x"); Tensor w = load(c, "weight"); Tensor b = load(c, "bias")) {
            return check("linear", c, layers -> layers.linear(x, w, b, activation));
        }
    }

    GoldenCases.Result geglu(Map<?, ?> c) throws IOException {
        try (Tensor x = load(c, "x"); Tensor w = load(c, "weight"); Tensor b = load(c, "bias")) {
            return check("geglu", c, layers -> layers.geglu(x, w, b));
        }
    }

    GoldenCases.Result activation(Map<?, ?> c) throws IOException {
        Activation activation = activation(GoldenCases.text(c, "op"));
        try (Tensor x = load(c, "x")) {
            return check("activation", c, layers -> layers.activation(x, activation));
        }
    }

    GoldenCases.Result timestepEmbedding(Map<?, ?> c) throws IOException {
        List<?> steps = (List<?>) c.get("timesteps");
        if (steps == null) {
            throw new IllegalArgumentException("manifest case has no list 'timesteps'");
        }
        float[] t = new float[steps.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = ((Double) steps.get(i)).floatValue();
        }
        int dim = (int) GoldenCases.number(c, "dim");
        boolean flip = Boolean.TRUE.equals(c.get("flip_sin_to_cos"));
        double shift = GoldenCases.number(c, "downscale_freq_shift");
        double maxPeriod = GoldenCases.number(c, "max_period");
        double scale = c.get("scale") instanceof Double s ? s : 1.0;
        try (Tensor timesteps = g.input(Tensor.fromArray(t, t.length))) {
            return check("timestep_embedding", c,
                    layers -> layers.timestepEmbedding(timesteps, dim, flip, shift, scale, maxPeriod));
        }
    }

    /** Kinds of the layers manifest, in the order it lists them. */
    static final List<String> KINDS = List.of("group_norm", "layer_norm", "linear", "geglu", "activation",
            "timestep_embedding");

    GoldenCases.Check check(String kind, Map<?, ?> c) {
        return switch (kind.toLowerCase(Locale.ROOT)) {
            case "group_norm" -> () -> groupNorm(c);
            case "layer_norm" -> () -> layerNorm(c);
            case "linear" -> () -> linear(c);
            case "geglu" -> () -> geglu(c);
            case "activation" -> () -> activation(c);
            case "timestep_embedding" -> () -> timestepEmbedding(c);
            default -> throw new IllegalArgumentException("unsupported kind " + kind);
        };
    }
}
