package dev.inkwell.cli;

import dev.inkwell.models.ControlNetModelConfig;
import dev.inkwell.models.UNet2DConditionModelConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Floating-point operations of one U-Net or ControlNet pass, counted from the configuration as
 * the modules compute: convolutions (2 Cout Cin k^2 per output pixel), Linear layers (2 in out per
 * row), GEGLU's projection (to 2 x inner) and attention (4 Lq Lk d per head: QK^T and PV).
 * Norms, activations, adds and copies are not counted (under 1% at SD sizes). A multiply-add is
 * 2 operations.
 */
final class UNetFlops {
    private UNetFlops() {}

    private static double conv(long n, long cin, long cout, int k, long h, long w) {
        return 2.0 * n * cout * cin * k * k * h * w;
    }

    private static double linear(long rows, long in, long out) {
        return 2.0 * rows * in * out;
    }

    private static double resnet(long n, long cin, long cout, long h, long w, long temb) {
        return conv(n, cin, cout, 3, h, w) + conv(n, cout, cout, 3, h, w) + linear(n, temb, cout)
                + (cin != cout ? conv(n, cin, cout, 1, h, w) : 0);
    }

    /** Transformer2DModel with C channels, heads heads, on [n, C, h, w] against s tokens of crossDim. */
    private static double transformer(long n, long c, long heads, long layers, long h, long w, long s, long crossDim) {
        long l = h * w, rows = n * l, d = c / heads;
        double block = 3 * linear(rows, c, c) + 4.0 * n * heads * l * l * d + linear(rows, c, c) // attn1
                + linear(rows, c, c) + 2 * linear(n * s, crossDim, c) + 4.0 * n * heads * l * s * d
                + linear(rows, c, c) // attn2
                + linear(rows, c, 8 * c) + linear(rows, 4 * c, c); // GEGLU's proj, net.2
        return 2 * linear(rows, c, c) + layers * block;
    }

    /** Sizes per level: the encoder half shared by both models. */
    private record Encoder(double flops, List<long[]> states) {}

    private static Encoder encoder(long n, long h, long w, long s, int in, List<Integer> ch, List<Boolean> cross,
            List<Integer> layers, List<Integer> tLayers, List<Integer> heads, int crossDim, int ted, int padding) {
        double f = linear(n, ch.get(0), ted) + linear(n, ted, ted) + conv(n, in, ch.get(0), 3, h, w);
        List<long[]> states = new ArrayList<>();
        states.add(new long[] {ch.get(0), h, w});
        long prev = ch.get(0);
        for (int i = 0; i < ch.size(); i++) {
            long c = ch.get(i);
            for (int j = 0; j < layers.get(i); j++) {
                f += resnet(n, j == 0 ? prev : c, c, h, w, ted);
                if (cross.get(i)) {
                    f += transformer(n, c, heads.get(i), tLayers.get(i), h, w, s, crossDim);
                }
                states.add(new long[] {c, h, w});
            }
            if (i < ch.size() - 1) {
                h = padding == 1 ? (h + 1) / 2 : h / 2;
                w = padding == 1 ? (w + 1) / 2 : w / 2;
                f += conv(n, c, c, 3, h, w);
                states.add(new long[] {c, h, w});
            }
            prev = c;
        }
        long c = ch.getLast();
        int last = ch.size() - 1;
        f += 2 * resnet(n, c, c, h, w, ted) + transformer(n, c, heads.get(last), tLayers.get(last), h, w, s, crossDim);
        return new Encoder(f, states);
    }

    /** One U-Net pass on [n, in, h, w] with s text tokens. */
    static double unet(UNet2DConditionModelConfig c, long n, long h, long w, long s) {
        List<Integer> ch = c.blockOutChannels();
        List<Boolean> cross = new ArrayList<>();
        c.downBlockTypes().forEach(t -> cross.add(t.equals("CrossAttnDownBlock2D")));
        int levels = ch.size(), ted = c.timeEmbedDim();
        double f = encoder(n, h, w, s, c.inChannels(), ch, cross, c.layersPerBlock(), c.transformerLayersPerBlock(),
                c.attentionHeadDim(), c.crossAttentionDim(), ted, c.downsamplePadding()).flops();
        List<Integer> rch = reversed(ch), rheads = reversed(c.attentionHeadDim());
        List<Integer> rlayers = reversed(c.layersPerBlock());
        List<Integer> rt = reversed(c.transformerLayersPerBlock());
        long hh = h >> (levels - 1), ww = w >> (levels - 1);
        long out = rch.get(0);
        for (int i = 0; i < levels; i++) {
            long prevOut = out;
            out = rch.get(i);
            long in = rch.get(Math.min(i + 1, levels - 1));
            int num = rlayers.get(i) + 1;
            for (int j = 0; j < num; j++) {
                long skip = j == num - 1 ? in : out, resIn = j == 0 ? prevOut : out;
                f += resnet(n, resIn + skip, out, hh, ww, ted);
                if (c.upBlockTypes().get(i).equals("CrossAttnUpBlock2D")) {
                    f += transformer(n, out, rheads.get(i), rt.get(i), hh, ww, s, c.crossAttentionDim());
                }
            }
            if (i < levels - 1) {
                hh *= 2;
                ww *= 2;
                f += conv(n, out, out, 3, hh, ww);
            }
        }
        return f + conv(n, ch.get(0), c.outChannels(), 3, h, w);
    }

    /** One ControlNet pass on [n, in, h, w] with s text tokens and a control image f times larger. */
    static double controlnet(ControlNetModelConfig c, long n, long h, long w, long s) {
        List<Integer> ch = c.blockOutChannels();
        List<Boolean> cross = new ArrayList<>();
        c.downBlockTypes().forEach(t -> cross.add(t.equals("CrossAttnDownBlock2D")));
        Encoder e = encoder(n, h, w, s, c.inChannels(), ch, cross, Collections.nCopies(ch.size(), c.layersPerBlock()),
                c.transformerLayersPerBlock(), c.heads(), c.crossAttentionDim(), ch.get(0) * 4, c.downsamplePadding());
        double f = e.flops();
        // controlnet_cond_embedding, at the control image's size halving per level
        List<Integer> ce = c.conditioningEmbeddingOutChannels();
        long ch2 = h * c.conditioningFactor(), cw = w * c.conditioningFactor();
        f += conv(n, c.conditioningChannels(), ce.get(0), 3, ch2, cw);
        for (int i = 0; i < ce.size() - 1; i++) {
            f += conv(n, ce.get(i), ce.get(i), 3, ch2, cw);
            ch2 = (ch2 + 1) / 2;
            cw = (cw + 1) / 2;
            f += conv(n, ce.get(i), ce.get(i + 1), 3, ch2, cw);
        }
        f += conv(n, ce.getLast(), ch.get(0), 3, h, w);
        // the zero convolutions, one per state at its size, and the mid one
        for (long[] state : e.states()) {
            f += conv(n, state[0], state[0], 1, state[1], state[2]);
        }
        long[] last = e.states().getLast();
        return f + conv(n, last[0], last[0], 1, last[1], last[2]);
    }

    private static <T> List<T> reversed(List<T> l) {
        List<T> r = new ArrayList<>(l);
        Collections.reverse(r);
        return r;
    }
}
