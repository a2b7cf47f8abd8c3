package dev.inkwell;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Every public kernel once, on read-only inputs made once and shared by all callers: what
 * the concurrency and soak tests run over and over. Outputs go to owned objects and to
 * arenas opened and closed per run, so both ownership paths are exercised. {@link #run}
 * returns the outputs' bits, which must be the same on every thread and every run.
 */
final class KernelWorkload implements AutoCloseable {
    /** Kernel calls one {@link #run} makes. */
    static final int CALLS_PER_RUN = 27;

    private static final int H = 72, W = 96;
    private final Image rgb, gray;
    private final Tensor x, weight, bias, q, kText, vText, cond, uncond, noise, xHalf, weightHalf, qBf16;
    private final Tensor norm, projection, projectionBias, gegluWeight, tokens, timesteps, qBlhd, tokensHalf, projectionHalf;
    private final DdimScheduler scheduler = DdimScheduler.stableDiffusion();

    KernelWorkload(long seed) {
        Random rnd = new Random(seed);
        rgb = Image.fromBytes(CannyTest.randomImage(rnd, H, W, 3), H, W, 3);
        gray = Image.fromBytes(CannyTest.randomImage(rnd, H, W, 1), H, W, 1);
        x = Tensor.fromArray(Tolerance.random(rnd, 2 * 8 * 16 * 16, 1), 2, 8, 16, 16);
        weight = Tensor.fromArray(Tolerance.random(rnd, 12 * 4 * 3 * 3, 0.3), 12, 4, 3, 3);
        bias = Tensor.fromArray(Tolerance.random(rnd, 12, 1), 12);
        q = Tensor.fromArray(Tolerance.random(rnd, 2 * 2 * 96 * 40, 1), 2, 2, 96, 40);
        kText = Tensor.fromArray(Tolerance.random(rnd, 2 * 2 * 77 * 40, 1), 2, 2, 77, 40);
        vText = Tensor.fromArray(Tolerance.random(rnd, 2 * 2 * 77 * 40, 1), 2, 2, 77, 40);
        cond = Tensor.fromArray(Tolerance.random(rnd, 2 * 8 * 16 * 16, 1), 2, 8, 16, 16);
        uncond = Tensor.fromArray(Tolerance.random(rnd, 2 * 8 * 16 * 16, 1), 2, 8, 16, 16);
        noise = Tensor.fromArray(Tolerance.random(rnd, 2 * 8 * 16 * 16, 1), 2, 8, 16, 16);
        xHalf = x.to(ElementType.FLOAT16);
        weightHalf = weight.to(ElementType.FLOAT16);
        qBf16 = q.to(ElementType.BFLOAT16);
        norm = Tensor.fromArray(Tolerance.random(rnd, 8, 1), 8);
        projection = Tensor.fromArray(Tolerance.random(rnd, 24 * 40, 0.2), 24, 40);
        projectionBias = Tensor.fromArray(Tolerance.random(rnd, 24, 1), 24);
        gegluWeight = Tensor.fromArray(Tolerance.random(rnd, 2 * 20 * 40, 0.2), 2 * 20, 40);
        tokens = Tensor.fromArray(Tolerance.random(rnd, 2 * 96 * 40, 1), 2, 96, 40);
        timesteps = Tensor.fromArray(new float[] {981, 1.5f}, 2);
        qBlhd = Tensor.fromArray(Tolerance.random(rnd, 2 * 96 * 2 * 40, 1), 2, 96, 2, 40);
        tokensHalf = tokens.to(ElementType.FLOAT16);
        projectionHalf = projection.to(ElementType.FLOAT16);
    }

    /** Runs every kernel with {@code inkwell}; returns each output's bits in a fixed order. */
    List<Object> run(Inkwell inkwell) {
        List<Object> out = new ArrayList<>();
        CannyOptions blurred = CannyOptions.defaults().withBlur(BlurOptions.of(5, 1.4)).withL2Gradient(true);
        try (Image e1 = inkwell.canny(rgb); Image e2 = inkwell.canny(gray, blurred);
                Image b = inkwell.gaussianBlur(rgb, BlurOptions.of(7, 0))) {
            out.add(e1.toByteArray());
            out.add(e2.toByteArray());
            out.add(b.toByteArray());
            out.add(inkwell.psnr(rgb, b));
            out.add(inkwell.ssim(rgb, b));
        }
        Conv2dOptions grouped = Conv2dOptions.defaults().withPadding(1).withGroups(2).withActivation(Activation.SILU);
        try (Arena arena = Arena.ofConfined()) {
            Tensor y = Tensor.allocate(arena, 2, 12, 16, 16);
            inkwell.conv2d(x, weight, bias, y, grouped);
            out.add(y.toArray());
            Tensor self = Tensor.allocate(arena, q.shape());
            inkwell.attention(q, q, q, self, AttentionOptions.defaults().withCausal(true));
            out.add(self.toArray());
            Tensor cross = Tensor.allocate(arena, q.shape());
            inkwell.attention(q, kText, vText, cross, AttentionOptions.defaults().withKvLens(77, 40));
            out.add(cross.toArray());
            Tensor prev = Tensor.allocate(arena, x.shape()), x0 = Tensor.allocate(arena, x.shape());
            inkwell.ddimStepGuided(scheduler, 501, 481, x, cond, uncond, 7.5, 1.0, noise, prev, x0);
            out.add(prev.toArray());
            out.add(x0.toArray());
            Tensor noised = Tensor.allocate(arena, x.shape());
            inkwell.addNoise(scheduler, x, noise, 300, noised);
            out.add(noised.toArray());
            Tensor yHalf = Tensor.allocate(arena, ElementType.FLOAT16, 2, 12, 16, 16);
            inkwell.conv2d(xHalf, weightHalf, null, yHalf, grouped);
            out.add(yHalf.toArray());
            try (Tensor selfBf16 = inkwell.attention(qBf16, qBf16, qBf16, AttentionOptions.defaults())) {
                out.add(selfBf16.toArray());
            }
            Tensor z = Tensor.allocate(arena, 5000);
            inkwell.randn(z, 1234, 77);
            out.add(z.toArray());
        }
        Layers layers = inkwell.layers();
        TensorOps ops = inkwell.ops();
        try (Tensor gn = layers.groupNorm(x, 4, norm, norm, 1e-5, Activation.SILU);
                Tensor ln = layers.layerNorm(tokens, null, null, 1e-5);
                Tensor lin = layers.linear(tokens, projection, projectionBias, Activation.GELU);
                Tensor linHalf = layers.linear(tokensHalf, projectionHalf, null);
                Tensor gg = layers.geglu(tokens, gegluWeight, null);
                Tensor act = layers.activation(x, Activation.QUICK_GELU);
                Tensor emb = layers.timestepEmbedding(timesteps, 33);
                Tensor sum = ops.add(x, norm.view(1, 8, 1, 1));
                Tensor joined = ops.cat(1, x, cond);
                Tensor swapped = ops.transpose(tokens, 1, 2);
                Tensor pooled = ops.maxPool2d(x, 3, 2, 1);
                Tensor blhd = inkwell.attention(qBlhd, qBlhd, qBlhd,
                        AttentionOptions.defaults().withLayout(AttentionLayout.BLHD))) {
            for (Tensor t : new Tensor[] {gn, ln, lin, linHalf, gg, act, emb, sum, joined, swapped, pooled, blhd}) {
                out.add(t.toArray());
            }
        }
        for (ResampleMode mode : new ResampleMode[] {ResampleMode.UPSAMPLE_BILINEAR_2X, ResampleMode.AVG_POOL_2X2}) {
            try (Tensor r = inkwell.resample(x, mode)) {
                out.add(r.toArray());
            }
        }
        return out;
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {rgb, gray, x, weight, bias, q, kText, vText, cond, uncond, noise, xHalf,
                weightHalf, qBf16, norm, projection, projectionBias, gegluWeight, tokens, timesteps, qBlhd, tokensHalf, projectionHalf}) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
