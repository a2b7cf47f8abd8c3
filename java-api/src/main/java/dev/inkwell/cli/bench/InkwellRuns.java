package dev.inkwell.cli.bench;

import dev.inkwell.Activation;
import dev.inkwell.AttentionOptions;
import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.DdimScheduler;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Layers;
import dev.inkwell.Tensor;
import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.models.ModelBlocks;
import java.util.List;

/** Inkwell's side of each case: inputs copied into Inkwell objects once, then one call per run. */
final class InkwellRuns {
    private InkwellRuns() {}

    /** A runnable for {@code spec}; objects it allocates go to {@code owned} (closed by the caller). */
    static Runnable prepare(Inkwell inkwell, BenchSpec spec, List<AutoCloseable> owned) {
        return switch (spec) {
            case BenchSpec.Canny c -> {
                Image src = keep(owned, Image.fromBytes(c.pixels(), c.height(), c.width(), c.channels()));
                Image dst = keep(owned, Image.allocate(c.height(), c.width(), 1));
                CannyOptions o = CannyOptions.defaults().withThresholds(c.low(), c.high());
                yield () -> inkwell.canny(src, dst, o);
            }
            case BenchSpec.GaussianBlur g -> {
                Image src = keep(owned, Image.fromBytes(g.pixels(), g.height(), g.width(), g.channels()));
                Image dst = keep(owned, Image.allocate(g.height(), g.width(), g.channels()));
                BlurOptions o = BlurOptions.of(g.ksize(), g.sigma());
                yield () -> inkwell.gaussianBlur(src, dst, o);
            }
            case BenchSpec.Conv2d c -> {
                Tensor x = keep(owned, Tensor.fromArray(c.input(), c.inputShape()));
                Tensor w = keep(owned, Tensor.fromArray(c.weight(), c.weightShape()));
                Tensor b = keep(owned, Tensor.fromArray(c.bias(), c.weightShape()[0]));
                Conv2dOptions o = Conv2dOptions.defaults().withStride(c.stride()).withPadding(c.pad());
                Tensor y = keep(owned, inkwell.conv2d(x, w, b, o));
                yield () -> inkwell.conv2d(x, w, b, y, o);
            }
            case BenchSpec.Attention a -> {
                Tensor q = keep(owned, Tensor.fromArray(a.q(), a.batch(), a.heads(), a.qLen(), a.headDim()));
                Tensor k = keep(owned, Tensor.fromArray(a.k(), a.batch(), a.heads(), a.kvLen(), a.headDim()));
                Tensor v = keep(owned, Tensor.fromArray(a.v(), a.batch(), a.heads(), a.kvLen(), a.headDim()));
                Tensor out = keep(owned, Tensor.allocate(a.batch(), a.heads(), a.qLen(), a.headDim()));
                yield () -> inkwell.attention(q, k, v, out, AttentionOptions.defaults());
            }
            case BenchSpec.Linear l -> {
                Tensor x = keep(owned, Tensor.fromArray(l.input(), l.inputShape()));
                Tensor w = keep(owned, Tensor.fromArray(l.weight(), l.outFeatures(), l.inFeatures()));
                Tensor b = keep(owned, Tensor.fromArray(l.bias(), l.outFeatures()));
                Tensor y = keep(owned, Tensor.allocate(l.outputShape()));
                Layers layers = inkwell.layers();
                yield () -> layers.linear(x, w, b, Activation.NONE, y);
            }
            case BenchSpec.Geglu g -> {
                Tensor x = keep(owned, Tensor.fromArray(g.input(), g.inputShape()));
                Tensor w = keep(owned, Tensor.fromArray(g.weight(), 2L * g.innerDim(), g.inFeatures()));
                Tensor b = keep(owned, Tensor.fromArray(g.bias(), 2L * g.innerDim()));
                Tensor y = keep(owned, Tensor.allocate(g.outputShape()));
                Layers layers = inkwell.layers();
                yield () -> layers.geglu(x, w, b, y);
            }
            case BenchSpec.GroupNorm g -> {
                Tensor x = keep(owned, Tensor.fromArray(g.input(), g.shape()));
                Tensor w = keep(owned, Tensor.fromArray(g.weight(), g.weight().length));
                Tensor b = keep(owned, Tensor.fromArray(g.bias(), g.bias().length));
                Tensor y = keep(owned, Tensor.allocate(g.shape()));
                Layers layers = inkwell.layers();
                yield () -> layers.groupNorm(x, g.groups(), w, b, g.eps(), Activation.NONE, y);
            }
            case BenchSpec.LayerNorm l -> {
                Tensor x = keep(owned, Tensor.fromArray(l.input(), l.shape()));
                Tensor w = keep(owned, Tensor.fromArray(l.weight(), l.weight().length));
                Tensor b = keep(owned, Tensor.fromArray(l.bias(), l.bias().length));
                Tensor y = keep(owned, Tensor.allocate(l.shape()));
                Layers layers = inkwell.layers();
                yield () -> layers.layerNorm(x, w, b, l.eps(), y);
            }
            case BenchSpec.DdimStep d -> {
                Tensor x = keep(owned, Tensor.fromArray(d.sample(), d.shape()));
                Tensor cond = keep(owned, Tensor.fromArray(d.cond(), d.shape()));
                Tensor uncond = keep(owned, Tensor.fromArray(d.uncond(), d.shape()));
                Tensor prev = keep(owned, Tensor.allocate(d.shape()));
                DdimScheduler s = DdimScheduler.stableDiffusion();
                yield () -> inkwell.ddimStepGuided(s, BenchCases.DDIM_T, BenchCases.DDIM_PREV, x, cond, uncond, d.guidance(),
                        0.0, null, prev, null);
            }
            case BenchSpec.ResnetBlock r -> {
                ModelBlocks block = keep(owned, ModelBlocks.resnetBlock2D(inkwell, r.seed(), r.channels(), r.channels(),
                        r.tembChannels(), r.groups(), r.eps()));
                Tensor x = keep(owned, Tensor.fromArray(r.input(), r.inputShape()));
                Tensor temb = keep(owned, Tensor.fromArray(r.temb(), r.inputShape()[0], r.tembChannels()));
                yield () -> block.forward(x, temb).close();
            }
            case BenchSpec.TransformerBlock t -> {
                ModelBlocks block = keep(owned, ModelBlocks.basicTransformerBlock(inkwell, t.seed(), t.heads(),
                        t.headDim(), Math.toIntExact(t.contextShape()[2])));
                Tensor x = keep(owned, Tensor.fromArray(t.input(), t.inputShape()));
                Tensor context = keep(owned, Tensor.fromArray(t.context(), t.contextShape()));
                yield () -> block.forward(x, context).close();
            }
            case BenchSpec.NativeCall n -> () -> {
                for (int i = 0; i < n.callsPerRun(); i++) {
                    InkwellNative.inkwell_noop();
                }
            };
        };
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> owned, T t) {
        owned.add(t);
        return t;
    }
}
