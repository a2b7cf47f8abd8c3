package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_conv2d_params;
import java.lang.foreign.MemorySegment;

/** {@link Inkwell#conv2d}: shape and element type checks, and the call to inkwell_conv2d_f32, _f16 or _bf16. */
final class Conv2dKernel {
    private Conv2dKernel() {}

    static long[] outputShape(Tensor input, Tensor weight, Conv2dOptions o) {
        ShapeChecks.rank(input, 4, "input", "[batch, channels, height, width]");
        ShapeChecks.rank(weight, 4, "weight", "[out_channels, in_channels / groups, kh, kw]");
        long c = input.dim(1), cout = weight.dim(0);
        if (c % o.groups() != 0 || cout % o.groups() != 0) {
            throw new IllegalArgumentException("conv2d: groups " + o.groups() + " must divide in_channels " + c
                    + " and out_channels " + cout);
        }
        if (weight.dim(1) != c / o.groups()) {
            throw new IllegalArgumentException("conv2d: weight dim 1 is " + weight.dim(1) + " but in_channels / groups = "
                    + c / o.groups());
        }
        long oh = o.outputHeight(input.dim(2), weight.dim(2));
        long ow = o.outputWidth(input.dim(3), weight.dim(3));
        return new long[] {input.dim(0), cout, oh, ow};
    }

    static void run(Inkwell inkwell, Tensor input, Tensor weight, Tensor bias, Tensor output, Conv2dOptions o) {
        Conv2dOptions.checkActivation(o.activation());
        long[] outShape = outputShape(input, weight, o);
        if (bias != null) {
            ShapeChecks.shape(bias, new long[] {weight.dim(0)}, "bias");
        }
        ShapeChecks.shape(output, outShape, "output");
        ShapeChecks.sameElementType("conv2d", input, "input", weight, "weight");
        ShapeChecks.sameElementType("conv2d", input, "input", bias, "bias");
        ShapeChecks.sameElementType("conv2d", input, "input", output, "output");
        ShapeChecks.noOverlap("conv2d", output, "output", input, weight, bias);
        ElementType type = input.elementType();
        inkwell.run("conv2d", Inkwell.names("input", "weight", "bias", "output"), (arena, context) -> {
            MemorySegment p = inkwell_conv2d_params.allocate(arena);
            inkwell_conv2d_params.input(p, input.nativeSegment());
            inkwell_conv2d_params.weight(p, weight.nativeSegment());
            inkwell_conv2d_params.bias(p, bias == null ? MemorySegment.NULL : bias.nativeSegment());
            inkwell_conv2d_params.output(p, output.nativeSegment());
            inkwell_conv2d_params.batch(p, input.dim(0));
            inkwell_conv2d_params.in_channels(p, input.dim(1));
            inkwell_conv2d_params.in_height(p, input.dim(2));
            inkwell_conv2d_params.in_width(p, input.dim(3));
            inkwell_conv2d_params.out_channels(p, weight.dim(0));
            inkwell_conv2d_params.kernel_h(p, weight.dim(2));
            inkwell_conv2d_params.kernel_w(p, weight.dim(3));
            inkwell_conv2d_params.stride_h(p, o.strideH());
            inkwell_conv2d_params.stride_w(p, o.strideW());
            inkwell_conv2d_params.pad_h(p, o.padH());
            inkwell_conv2d_params.pad_w(p, o.padW());
            inkwell_conv2d_params.dilation_h(p, o.dilationH());
            inkwell_conv2d_params.dilation_w(p, o.dilationW());
            inkwell_conv2d_params.groups(p, o.groups());
            inkwell_conv2d_params.out_height(p, outShape[2]);
            inkwell_conv2d_params.out_width(p, outShape[3]);
            inkwell_conv2d_params.activation(p, o.activation().code());
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_conv2d_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_conv2d_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_conv2d_bf16(context, p);
            };
        }, input, weight, bias, output);
    }
}
