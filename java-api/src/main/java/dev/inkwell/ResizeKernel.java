package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_resize_params;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** {@link Inkwell#resize}: size and channel checks and the call to inkwell_resize_u8. */
final class ResizeKernel {
    private ResizeKernel() {}

    /** A new width x height image with src's channels, in the context's memory. */
    static Image resize(Inkwell inkwell, Image src, int width, int height, Interpolation interpolation) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(interpolation, "interpolation");
        if (width < 1 || width > Image.MAX_SIDE) {
            throw new IllegalArgumentException("resize: width must be 1.." + Image.MAX_SIDE + ", got " + width);
        }
        if (height < 1 || height > Image.MAX_SIDE) {
            throw new IllegalArgumentException("resize: height must be 1.." + Image.MAX_SIDE + ", got " + height);
        }
        Image dst = inkwell.device() == Device.CPU ? Image.allocate(height, width, src.channels())
                : Image.allocate(inkwell, height, width, src.channels());
        return Inkwell.closingOnFailure(dst, () -> run(inkwell, src, dst, interpolation));
    }

    /** Resizes src into dst: any size, src's channels, not overlapping src. */
    static void run(Inkwell inkwell, Image src, Image dst, Interpolation interpolation) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        Objects.requireNonNull(interpolation, "interpolation");
        if (dst.channels() != src.channels()) {
            throw new IllegalArgumentException(
                    "resize: dst has " + dst.channels() + " channels but src has " + src.channels());
        }
        if (src.overlaps(dst)) { // closed images overlap nothing; the call below names them
            throw new IllegalArgumentException("resize: dst overlaps src; use a separate image");
        }
        inkwell.run("resize", Inkwell.names("src", "dst"), (arena, context) -> {
            MemorySegment p = inkwell_resize_params.allocate(arena);
            Inkwell.describe(src, inkwell_resize_params.src(p));
            Inkwell.describe(dst, inkwell_resize_params.dst(p));
            inkwell_resize_params.interpolation(p, interpolation.code());
            return InkwellNative.inkwell_resize_u8(context, p);
        }, src, dst);
    }
}
