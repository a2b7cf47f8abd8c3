package dev.inkwell;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * An 8-bit image in native memory: height x width pixels of 1 to 4 interleaved channels
 * (gray, or RGB in memory order), rows {@link #rowStride()} bytes apart.
 *
 * <p>Ownership is explicit. {@link #allocate(int, int, int)}, {@link #read(Path)} and the
 * results of {@link Inkwell} kernels own their memory: {@link #close()} frees it.
 * {@link #allocate(Arena, int, int, int)} and {@link #wrap} borrow memory from the caller's
 * arena or segment: {@code close()} then only marks the image closed. Using a closed image
 * throws {@link IllegalStateException}. An image may be read by many threads at once;
 * writes to it must not race with kernels reading it.
 *
 * <p>A safety net, not a substitute for {@code close()}: an image or tensor that owns its
 * memory and becomes unreachable without being closed is freed by a {@link java.lang.ref.Cleaner}
 * once the garbage collector finds it, and the first such leak in a process is logged as a
 * warning ({@link System.Logger} "dev.inkwell") naming its kind and size. Run with
 * {@code -Dinkwell.leakDetection=paranoid} to record where each one is allocated and have the
 * warning say where the leaked one was ({@code disabled} silences it; memory is freed either
 * way). As the collector does not see native memory, allocations ask for a collection when
 * owned memory (host and device) has grown past 256 MiB, or twice what was live after the
 * last one, so that forgotten images and tensors do not pile up. Memory still reachable is
 * never freed: views keep their tensor, kernels keep their arguments until the native call
 * returns, and borrowed memory belongs to its arena. Device memory is freed through the
 * context that allocated it, which stays reachable until then.
 */
public final class Image implements AutoCloseable {
    /** Largest height or width, as the native library accepts it. */
    public static final int MAX_SIDE = 1 << 20;

    private final MemorySegment segment;
    private final int height;
    private final int width;
    private final int channels;
    private final long rowStride;
    private final NativeMemory.Owner owner; // frees owned memory (on close, or as a safety net); null when borrowed
    private final Device device; // where the pixels are
    private final Inkwell home; // the context that allocated device memory, else null
    private final CloseGuard guard = new CloseGuard("image");

    private Image(MemorySegment segment, int height, int width, int channels, long rowStride, Arena ownedArena) {
        this(segment, height, width, channels, rowStride, ownedArena, Device.CPU, null);
    }

    private Image(MemorySegment segment, int height, int width, int channels, long rowStride, Arena ownedArena,
            Device device, Inkwell home) {
        this.segment = segment;
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.rowStride = rowStride;
        this.device = device;
        this.home = home;
        this.owner = ownedArena == null ? null
                : NativeMemory.own(this, ownedArena, segment.byteSize(), guard, describe(height, width, channels, device));
    }

    /** What an unclosed image was, for the leak warning; static, so that it cannot capture an image. */
    private static Supplier<String> describe(int height, int width, int channels, Device device) {
        return () -> "an image " + width + " x " + height + " x " + channels + (device == Device.CPU ? "" : " in "
                + device + " memory");
    }

    /**
     * A new zero-filled, tightly packed image that owns its memory.
     *
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @return a new image that the caller closes
     * @throws IllegalArgumentException if a size is out of range
     */
    public static Image allocate(int height, int width, int channels) {
        long bytes = checkShape(height, width, channels, (long) width * channels);
        NativeMemory.Owned owned = NativeMemory.allocateOwned(bytes);
        return new Image(owned.segment(), height, width, channels, (long) width * channels, owned.arena());
    }

    /**
     * A new zero-filled, tightly packed image in the caller's arena (freed with it).
     *
     * @param arena the arena that owns the memory
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @return a new image borrowing the arena's memory
     * @throws NullPointerException if {@code arena} is null
     * @throws IllegalArgumentException if a size is out of range
     * @throws IllegalStateException if the arena is closed
     */
    public static Image allocate(Arena arena, int height, int width, int channels) {
        Objects.requireNonNull(arena, "arena");
        long bytes = checkShape(height, width, channels, (long) width * channels);
        return new Image(arena.allocate(bytes, NativeMemory.ALIGNMENT), height, width, channels, (long) width * channels, null);
    }

    /**
     * A new tightly packed image in the memory of {@code context}'s device (see
     * {@link Tensor#allocate(Inkwell, long...)}), owned by the image: {@link #close()} frees
     * it, before the context's close. Its pixels are unspecified until written.
     *
     * @param context the context whose device holds the pixels
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @return a new image that the caller closes
     * @throws NullPointerException if {@code context} is null
     * @throws IllegalArgumentException if a size is out of range
     * @throws IllegalStateException if the context is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public static Image allocate(Inkwell context, int height, int width, int channels) {
        Objects.requireNonNull(context, "context");
        long bytes = checkShape(height, width, channels, (long) width * channels);
        NativeMemory.reserve(bytes);
        Arena arena = Arena.ofShared(); // shared: the safety net may free it from the cleaner thread
        try {
            return new Image(context.allocateDeviceMemory(bytes, arena), height, width, channels, (long) width * channels,
                    arena, context.device(), context);
        } catch (RuntimeException e) {
            arena.close();
            NativeMemory.unreserve(bytes);
            throw e;
        }
    }

    /**
     * As {@link #allocate(Inkwell, int, int, int)}, owned by {@code arena} (closed before the context).
     *
     * @param context the context whose device holds the pixels
     * @param arena the arena that owns the memory
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @return a new image borrowing the arena's memory
     * @throws NullPointerException if {@code context} or {@code arena} is null
     * @throws IllegalArgumentException if a size is out of range
     * @throws IllegalStateException if the context or the arena is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public static Image allocate(Inkwell context, Arena arena, int height, int width, int channels) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(arena, "arena");
        long bytes = checkShape(height, width, channels, (long) width * channels);
        return new Image(context.allocateDeviceMemory(bytes, arena), height, width, channels, (long) width * channels, null,
                context.device(), context);
    }

    /**
     * Wraps the caller's tightly packed native segment without copying. The segment must stay
     * alive while the image is used.
     *
     * @param segment native, writable, at least height x width x channels bytes
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @return a new image borrowing the segment
     * @throws NullPointerException if {@code segment} is null
     * @throws IllegalArgumentException if a size is out of range, or the segment is on the
     *     heap, read-only or too small
     * @throws IllegalStateException if the segment's arena is closed
     */
    public static Image wrap(MemorySegment segment, int height, int width, int channels) {
        return wrap(segment, height, width, channels, (long) width * channels);
    }

    /**
     * Wraps the caller's native segment without copying: pixel (y, x, c) is the byte at
     * {@code y * rowStride + x * channels + c}. The segment must stay alive while the
     * image is used.
     *
     * @param segment native, writable, at least (height - 1) x rowStride + width x channels bytes
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @param rowStride bytes between the starts of rows, at least width x channels
     * @return a new image borrowing the segment
     * @throws NullPointerException if {@code segment} is null
     * @throws IllegalArgumentException if a size or the stride is out of range, or the segment
     *     is on the heap, read-only or too small
     * @throws IllegalStateException if the segment's arena is closed
     */
    public static Image wrap(MemorySegment segment, int height, int width, int channels, long rowStride) {
        Objects.requireNonNull(segment, "segment");
        long bytes = checkShape(height, width, channels, rowStride);
        MemorySegment slice = NativeMemory.wrappable(segment, bytes, "a " + height + "x" + width + "x" + channels
                + " image with row stride " + rowStride, "copy it with Image.fromBytes");
        return new Image(slice, height, width, channels, rowStride, null);
    }

    /**
     * A new owned image holding a copy of tightly packed pixels.
     *
     * @param pixels height x width x channels samples, row by row
     * @param height rows, 1..{@value #MAX_SIDE}
     * @param width columns, 1..{@value #MAX_SIDE}
     * @param channels 1 to 4 interleaved samples per pixel
     * @return a new image that the caller closes
     * @throws NullPointerException if {@code pixels} is null
     * @throws IllegalArgumentException if a size is out of range or {@code pixels} has
     *     another length
     */
    public static Image fromBytes(byte[] pixels, int height, int width, int channels) {
        Objects.requireNonNull(pixels, "pixels");
        long bytes = checkShape(height, width, channels, (long) width * channels);
        if (pixels.length != bytes) {
            throw new IllegalArgumentException("pixels has " + pixels.length + " bytes but a " + height + "x" + width + "x"
                    + channels + " image has " + bytes);
        }
        Image image = allocate(height, width, channels);
        MemorySegment.copy(pixels, 0, image.segment, ValueLayout.JAVA_BYTE, 0, pixels.length);
        return image;
    }

    /**
     * Reads a PNG or JPEG file into a new owned image: gray stays 1 channel, color becomes
     * 3 channels in RGB order, 16-bit samples keep their high byte. Alpha is composited over
     * white as ControlNet's annotator does ({@link AlphaMode#OVER_WHITE}): a transparent
     * pixel reads as white, not as its hidden color. CMYK and YCCK JPEGs are converted to RGB
     * with their ICC profile (or a generic CMYK one).
     *
     * @param path the file to read
     * @return a new image that owns its memory
     * @throws IOException if the file is missing, unreadable, not an image, corrupt or
     *     truncated, or in a color space other than gray, RGB, CMYK or YCCK
     * @throws OutOfMemoryError if the Java heap cannot hold the decoded image (the message
     *     names its size and the heap's: raise {@code -Xmx})
     */
    public static Image read(Path path) throws IOException {
        return read(path, AlphaMode.OVER_WHITE);
    }

    /**
     * As {@link #read(Path)}, with the file's alpha channel composited over white
     * ({@link AlphaMode#OVER_WHITE}) or kept as a 4th channel ({@link AlphaMode#KEEP}: RGBA,
     * gray + alpha becoming RGBA).
     *
     * @param path the file to read
     * @param alpha what to do with an alpha channel
     * @return a new image that owns its memory
     * @throws IOException as {@link #read(Path)}
     */
    public static Image read(Path path, AlphaMode alpha) throws IOException {
        return ImageCodec.read(Objects.requireNonNull(path, "path"), Objects.requireNonNull(alpha, "alpha"));
    }

    /**
     * Writes the image as PNG or JPEG, chosen by the file extension ({@code .png},
     * {@code .jpg}, {@code .jpeg}; JPEG at ImageIO's default quality). 1 and 3 channels can
     * be written; 4 as PNG (RGBA). Missing parent directories are created; an existing file
     * is replaced.
     *
     * @param path the file to write
     * @throws NullPointerException if {@code path} is null
     * @throws IOException if the extension is not one of these, the image has 2 channels (or 4
     *     for JPEG), or the file or its directories cannot be written
     * @throws IllegalStateException if the image is closed or in device memory
     */
    public void write(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        requireHostMemory("write");
        guard.enter();
        try {
            ImageCodec.write(this, path);
        } finally {
            guard.exit();
        }
    }

    /**
     * The number of rows.
     *
     * @return 1..{@value #MAX_SIDE}
     */
    public int height() {
        return height;
    }

    /**
     * The number of columns.
     *
     * @return 1..{@value #MAX_SIDE}
     */
    public int width() {
        return width;
    }

    /**
     * Samples per pixel.
     *
     * @return 1 to 4
     */
    public int channels() {
        return channels;
    }

    /**
     * Bytes between the starts of consecutive rows.
     *
     * @return at least width * channels
     */
    public long rowStride() {
        return rowStride;
    }

    /**
     * The device whose memory holds the pixels.
     *
     * @return {@link Device#CPU} for host memory
     */
    public Device device() {
        return device;
    }

    /**
     * The pixels; covers (height - 1) * rowStride + width * channels bytes. Host memory only.
     * Valid while this image is open and, for an owned image, reachable: keep a reference to
     * the image while the segment is used (the safety net frees an unreachable image).
     *
     * @return the memory, not a copy
     * @throws IllegalStateException if the image is closed or in device memory
     */
    public MemorySegment segment() {
        guard.checkOpen();
        requireHostMemory("segment()");
        return segment;
    }

    /**
     * One sample; host memory only.
     *
     * @param y the row
     * @param x the column
     * @param c the channel
     * @return the sample, 0..255
     * @throws IndexOutOfBoundsException if (y, x, c) is outside the image
     * @throws IllegalStateException if the image is closed or in device memory
     */
    public int get(int y, int x, int c) {
        guard.checkOpen();
        requireHostMemory("get");
        try {
            return Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, offset(y, x, c)));
        } finally {
            Reference.reachabilityFence(this); // the safety net must not free the memory during the read
        }
    }

    /**
     * Sets one sample; host memory only.
     *
     * @param y the row
     * @param x the column
     * @param c the channel
     * @param value 0..255
     * @throws IllegalArgumentException if {@code value} is outside 0..255
     * @throws IndexOutOfBoundsException if (y, x, c) is outside the image
     * @throws IllegalStateException if the image is closed or in device memory
     */
    public void set(int y, int x, int c, int value) {
        if (value < 0 || value > 255) {
            throw new IllegalArgumentException("sample value must be 0..255, got " + value);
        }
        guard.checkOpen();
        requireHostMemory("set");
        try {
            segment.set(ValueLayout.JAVA_BYTE, offset(y, x, c), (byte) value);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * A tightly packed copy of the pixels (row padding removed), copied from the device when they live there.
     *
     * @return a new array of height x width x channels samples, row by row
     * @throws IllegalStateException if the image is closed, its memory was freed, or it is
     *     too large for a Java array
     */
    public byte[] toByteArray() {
        if (device != Device.CPU) { // device images are tightly packed
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(segment.byteSize(), NativeMemory.ALIGNMENT);
                home.copyBytes("Image.toByteArray", host, this, segment, false);
                return host.toArray(ValueLayout.JAVA_BYTE);
            }
        }
        guard.enter();
        try {
            long rowBytes = (long) width * channels;
            long total = rowBytes * height;
            if (total > Integer.MAX_VALUE - 8) {
                throw new IllegalStateException("image of " + total + " bytes does not fit in a Java array");
            }
            byte[] out = new byte[(int) total];
            for (int y = 0; y < height; y++) {
                MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, y * rowStride, out, (int) (y * rowBytes), (int) rowBytes);
            }
            return out;
        } finally {
            guard.exit();
        }
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return guard.isClosed();
    }

    /**
     * Frees owned memory (waiting for kernels using it to finish); idempotent. Owned device
     * memory is freed through the context that allocated it. Closing a borrowed image frees
     * nothing, but it can no longer be used.
     */
    @Override
    public void close() {
        try {
            if (guard.close() && owner != null) {
                owner.free();
            }
        } finally {
            Reference.reachabilityFence(this); // else the safety net could take this close for a leak
        }
    }

    @Override
    public String toString() {
        return "Image[" + height + "x" + width + "x" + channels + ", stride " + rowStride
                + (device == Device.CPU ? "" : ", on " + device) + (isClosed() ? ", closed]" : "]");
    }

    // ---- for Inkwell's kernels ----------------------------------------------------------

    CloseGuard guard() {
        return guard;
    }

    /** The memory as kernels take it: host or device, never dereferenced in Java. */
    MemorySegment nativeSegment() {
        guard.checkOpen();
        return segment;
    }

    /** An image over memory of another device, for tests of the device checks. */
    static Image onDevice(MemorySegment segment, Device device, int height, int width, int channels) {
        long bytes = checkShape(height, width, channels, (long) width * channels);
        return new Image(segment.asSlice(0, bytes), height, width, channels, (long) width * channels, null, device, null);
    }

    private void requireHostMemory(String what) {
        if (device != Device.CPU) {
            throw new IllegalStateException("image is in " + device + " device memory, which Java cannot read: " + what
                    + " needs host memory; use toByteArray() or Inkwell.copy()");
        }
    }

    /** For kernels, after entering the guard: whether the memory itself still exists (its arena is open). */
    boolean memoryAlive() {
        return segment.scope().isAlive();
    }

    /** Size in bytes that a height x width x channels image with this stride spans. */
    static long checkShape(int height, int width, int channels, long rowStride) {
        if (height <= 0 || height > MAX_SIDE) {
            throw new IllegalArgumentException("height must be 1.." + MAX_SIDE + ", got " + height);
        }
        if (width <= 0 || width > MAX_SIDE) {
            throw new IllegalArgumentException("width must be 1.." + MAX_SIDE + ", got " + width);
        }
        if (channels < 1 || channels > 4) {
            throw new IllegalArgumentException("channels must be 1..4, got " + channels);
        }
        long rowBytes = (long) width * channels;
        if (rowStride < rowBytes) {
            throw new IllegalArgumentException(
                    "row stride " + rowStride + " is less than width * channels = " + rowBytes);
        }
        if (rowStride > (1L << 40) / height) {
            throw new IllegalArgumentException("row stride " + rowStride + " times height " + height + " exceeds 2^40 bytes");
        }
        return (height - 1) * rowStride + rowBytes;
    }

    private long offset(int y, int x, int c) {
        if (y < 0 || y >= height || x < 0 || x >= width || c < 0 || c >= channels) {
            throw new IndexOutOfBoundsException(
                    "(" + y + ", " + x + ", " + c + ") is outside " + height + "x" + width + "x" + channels);
        }
        return y * rowStride + (long) x * channels + c;
    }

    /** Open and its memory alive: its address means something (a freed one may have been reused). */
    private boolean usable() {
        return !guard.isClosed() && memoryAlive();
    }

    /** Whether the two images share any byte; false when either is closed or freed. */
    boolean overlaps(Image other) {
        if (device != other.device || !usable() || !other.usable()) {
            return false; // different address spaces, or a stale address (the kernel call refuses a closed image)
        }
        long a0 = segment.address(), a1 = a0 + segment.byteSize();
        long b0 = other.segment.address(), b1 = b0 + other.segment.byteSize();
        return a0 < b1 && b0 < a1;
    }
}
