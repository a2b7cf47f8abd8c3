package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code DownBlock2D} (unet_2d_blocks.py): num_layers ResnetBlock2D with the time
 * embedding (the first from in to out channels), then (except at the deepest level) a
 * Downsample2D. Every resnet's output and the downsampler's are output states. Weights under
 * {@code resnets.i.}, {@code downsamplers.0.}.
 */
final class DownBlock2D implements UNetDownBlock {
    private final List<ResnetBlock2D> resnets;
    private final Downsample2D downsampler; // null at the deepest level

    private DownBlock2D(List<ResnetBlock2D> resnets, Downsample2D downsampler) {
        this.resnets = resnets;
        this.downsampler = downsampler;
    }

    static DownBlock2D load(ModuleWeights w, String prefix, UNetSpec s, int level, int in, int out,
            boolean addDownsample) throws IOException {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < s.layersPerBlock().get(level); i++) {
            resnets.add(ResnetBlock2D.load(w, prefix + "resnets." + i + ".", i == 0 ? in : out, out, s.timeEmbedDim(),
                    s.groups(), s.eps()));
        }
        Downsample2D down = addDownsample
                ? Downsample2D.load(w, prefix + "downsamplers.0.", out, out, s.downsamplePadding()) : null;
        return new DownBlock2D(List.copyOf(resnets), down);
    }

    @Override
    public void forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates, List<Tensor> states) {
        Tensor h = x;
        for (ResnetBlock2D resnet : resnets) {
            h = resnet.forward(ctx, h, temb);
            states.add(h);
        }
        if (downsampler != null) {
            states.add(downsampler.forward(ctx, h));
        }
    }
}
