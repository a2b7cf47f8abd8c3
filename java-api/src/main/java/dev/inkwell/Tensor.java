package dev.inkwell;

import java.io.IOException;
import dev.inkwell.internal.Npy;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A tensor in native memory: an N-d shape, contiguous, row-major (C order), as PyTorch lays
 * out a contiguous tensor, of float32 or of a 16-bit {@link ElementType} (float16,
 * bfloat16). Shapes and element types are checked in Java before any native call.
 *
 * <p>Java reads and writes elements as floats whatever the type: {@link #toArray()},
 * {@link #get} widen exactly; {@link #copyFrom(float[])}, {@link #set} and
 * {@link #fromArray(float[], ElementType, long...)} round to the tensor's type (nearest,
 * ties to even); {@link #to(ElementType)} converts. {@link #segment()} is the raw memory.
 *
 * <p>Ownership as for {@link Image}: {@link #allocate(long...)}, {@link #fromArray},
 * {@link #readNpy}, {@link #to(ElementType)}, {@link #allocate(Inkwell, long...)} and the
 * results of {@link Inkwell} kernels own their memory and {@link #close()} frees it;
 * {@link #allocate(Arena, long...)} and {@link #wrap} borrow it. Kernel results and
 * {@link #allocate(Inkwell, long...)} take their memory from a {@link Workspace} where one is
 * bound, and close() returns it there; to their user they are owned tensors as any other.
 * Using a closed tensor throws {@link IllegalStateException}. {@link #view} gives another shape of the same memory,
 * borrowed from this tensor. An owned tensor that becomes unreachable unclosed is freed by
 * the garbage collector's cleaner, with a warning (see {@link Image} on the safety net); close
 * tensors all the same, since the collector runs when it will.
 *
 * <p>Device memory: {@link #allocate(Inkwell, long...)} puts a tensor in the memory of a
 * context's device (ordinary host memory for a CPU context, GPU memory for a CUDA one).
 * Kernels of a context take only tensors of its device. A tensor in CUDA memory cannot be
 * read from Java directly ({@link #segment()}, {@link #get} and {@link #set} throw); its
 * {@link #toArray()} and {@link #copyFrom(float[])} copy through the context that allocated
 * it, and {@link Inkwell#copy(Tensor, Tensor)} moves data between host and device.
 */
public final class Tensor implements AutoCloseable {
    /** Most elements a tensor may have (so that every tensor fits a Java array too). */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE;
    /** Most dimensions. */
    public static final int MAX_RANK = 8;

    private final MemorySegment segment;
    private final long[] shape;
    private final long elementCount;
    private final ElementType type;
    private final NativeMemory.Owner owner; // frees owned memory (on close, or as a safety net); null when borrowed
    private final Device device; // where the memory is
    private final Inkwell home; // the context that allocated device memory, else null
    private final Tensor base; // for a view: the tensor whose memory it shares (never a view itself); else null
    private final CloseGuard guard = new CloseGuard("tensor");

    private Tensor(MemorySegment segment, long[] shape, long elementCount, ElementType type, Arena ownedArena) {
        this(segment, shape, elementCount, type, ownedArena, Device.CPU, null);
    }

    private Tensor(MemorySegment segment, long[] shape, long elementCount, ElementType type, Arena ownedArena,
            Device device, Inkwell home) {
        this(segment, shape, elementCount, type, ownedArena, device, home, null);
    }

    private Tensor(MemorySegment segment, long[] shape, long elementCount, ElementType type, Arena ownedArena,
            Device device, Inkwell home, Tensor base) {
        this(ownedArena == null ? null : new NativeMemory.Owned(ownedArena, segment), segment, null, shape,
                elementCount, type, device, home, base);
    }

    /**
     * @param owned the memory this tensor owns ({@code segment} is its segment), or null when borrowed
     * @param recycler where owned memory goes back on close (a workspace), or null to free it
     */
    private Tensor(NativeMemory.Owned owned, MemorySegment segment, NativeMemory.Recycler recycler, long[] shape,
            long elementCount, ElementType type, Device device, Inkwell home, Tensor base) {
        this.base = base;
        this.segment = segment;
        this.shape = shape;
        this.elementCount = elementCount;
        this.type = type;
        this.device = device;
        this.home = home;
        this.owner = owned == null ? null
                : NativeMemory.own(this, owned, recycler, guard, describe(type, shape, device));
    }

    /** What an unclosed tensor was, for the leak warning; static, so that it cannot capture a tensor. */
    private static Supplier<String> describe(ElementType type, long[] shape, Device device) {
        return () -> "a " + type + " tensor " + Arrays.toString(shape) + (device == Device.CPU ? "" : " in " + device
                + " memory");
    }

    /**
     * A new zero-filled float32 tensor that owns its memory.
     *
     * @param shape 1..{@value #MAX_RANK} dimensions, each &gt;= 1, at most {@value #MAX_ELEMENTS}
     *     elements in all
     * @return a new tensor that the caller closes
     * @throws IllegalArgumentException if the shape is not valid
     */
    public static Tensor allocate(long... shape) {
        return allocate(ElementType.FLOAT32, shape);
    }

    /**
     * A new zero-filled tensor of {@code type} that owns its memory.
     *
     * @param type the element type
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor that the caller closes
     * @throws NullPointerException if {@code type} is null
     * @throws IllegalArgumentException if the shape is not valid
     */
    public static Tensor allocate(ElementType type, long... shape) {
        Objects.requireNonNull(type, "type");
        long[] s = shape.clone();
        long n = checkShape(s);
        NativeMemory.Owned owned = NativeMemory.allocateOwned(n * type.byteSize());
        return new Tensor(owned.segment(), s, n, type, owned.arena());
    }

    /**
     * A new zero-filled float32 tensor in the caller's arena (freed with it).
     *
     * @param arena the arena that owns the memory
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor borrowing the arena's memory
     * @throws NullPointerException if {@code arena} is null
     * @throws IllegalArgumentException if the shape is not valid
     * @throws IllegalStateException if the arena is closed
     */
    public static Tensor allocate(Arena arena, long... shape) {
        return allocate(arena, ElementType.FLOAT32, shape);
    }

    /**
     * A new zero-filled tensor of {@code type} in the caller's arena (freed with it).
     *
     * @param arena the arena that owns the memory
     * @param type the element type
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor borrowing the arena's memory
     * @throws NullPointerException if {@code arena} or {@code type} is null
     * @throws IllegalArgumentException if the shape is not valid
     * @throws IllegalStateException if the arena is closed
     */
    public static Tensor allocate(Arena arena, ElementType type, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(type, "type");
        long[] s = shape.clone();
        long n = checkShape(s);
        return new Tensor(arena.allocate(n * type.byteSize(), NativeMemory.ALIGNMENT), s, n, type, null);
    }

    /**
     * A new tensor in the memory of {@code context}'s device, owned by the tensor:
     * {@link #close()} frees it, and must come before the context's own close. Its contents
     * are unspecified until written (by a kernel, {@link #copyFrom} or {@link Inkwell#copy}).
     * If it becomes unreachable unclosed, the safety net frees it through the context (which
     * it keeps reachable until then) on the cleaner thread.
     *
     * <p>While a {@link Workspace} of {@code context} is bound on this thread, the memory is a
     * block of the workspace (host memory for a CPU context), which {@link #close()} returns
     * to it; see {@link Workspace} on ownership.
     *
     * @param context the context whose device holds the memory
     * @param shape as {@link #allocate(long...)}
     * @return a new float32 tensor that the caller closes
     * @throws NullPointerException if {@code context} is null
     * @throws IllegalArgumentException if the shape is not valid
     * @throws IllegalStateException if the context is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public static Tensor allocate(Inkwell context, long... shape) {
        return allocate(context, ElementType.FLOAT32, shape);
    }

    /**
     * As {@link #allocate(Inkwell, long...)}, with elements of {@code type}.
     *
     * @param context the context whose device holds the memory
     * @param type the element type
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor that the caller closes
     * @throws NullPointerException if {@code context} or {@code type} is null
     * @throws IllegalArgumentException if the shape is not valid
     * @throws IllegalStateException if the context is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public static Tensor allocate(Inkwell context, ElementType type, long... shape) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(type, "type");
        long[] s = shape.clone();
        long n = checkShape(s);
        long bytes = n * type.byteSize();
        if (context.isClosed()) {
            throw new IllegalStateException("Inkwell context is closed"); // also when a workspace has a free block
        }
        Workspace ws = Workspace.bound(context);
        if (ws != null) {
            // The block under an arena of this tensor's own: a segment kept past close() throws
            // as for any closed tensor, rather than reading the next tensor lent that block.
            NativeMemory.Owned block = ws.take(bytes);
            return new Tensor(NativeMemory.lend(block), s, n, type, NativeMemory.returnTo(ws.recycler(), block), context);
        }
        return new Tensor(NativeMemory.allocateOwned(context, bytes), s, n, type, null, context);
    }

    /** An owned tensor over a whole block of {@code context}'s memory, returned to {@code recycler} if not null. */
    private Tensor(NativeMemory.Owned block, long[] shape, long elementCount, ElementType type,
            NativeMemory.Recycler recycler, Inkwell context) {
        this(block, block.segment(), recycler, shape, elementCount, type, context.device(), context, null);
    }

    /**
     * A new tensor in the memory of {@code context}'s device, owned by {@code arena}: freed
     * when the arena closes, which must come before the context's close.
     *
     * @param context the context whose device holds the memory
     * @param arena the arena that owns it
     * @param shape as {@link #allocate(long...)}
     * @return a new float32 tensor borrowing the arena's memory
     * @throws NullPointerException if {@code context} or {@code arena} is null
     * @throws IllegalArgumentException if the shape is not valid
     * @throws IllegalStateException if the context or the arena is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public static Tensor allocate(Inkwell context, Arena arena, long... shape) {
        return allocate(context, arena, ElementType.FLOAT32, shape);
    }

    /**
     * As {@link #allocate(Inkwell, Arena, long...)}, with elements of {@code type}.
     *
     * @param context the context whose device holds the memory
     * @param arena the arena that owns it
     * @param type the element type
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor borrowing the arena's memory
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is not valid
     * @throws IllegalStateException if the context or the arena is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public static Tensor allocate(Inkwell context, Arena arena, ElementType type, long... shape) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(type, "type");
        long[] s = shape.clone();
        long n = checkShape(s);
        return new Tensor(context.allocateDeviceMemory(n * type.byteSize(), arena), s, n, type, null, context.device(),
                context);
    }

    /**
     * Wraps the caller's native segment (float32, C order) without copying. The segment
     * must stay alive while the tensor is used.
     *
     * @param segment native, writable, at least 4 x elements bytes, 4-byte aligned
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor borrowing the segment
     * @throws NullPointerException if {@code segment} is null
     * @throws IllegalArgumentException if the shape is not valid, or the segment is on the
     *     heap, read-only, misaligned or too small
     * @throws IllegalStateException if the segment's arena is closed
     */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        return wrap(segment, ElementType.FLOAT32, shape);
    }

    /**
     * Wraps the caller's native segment (elements of {@code type}, C order) without copying.
     *
     * @param segment native, writable, large enough, aligned to the element size
     * @param type the element type
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor borrowing the segment
     * @throws NullPointerException if {@code segment} or {@code type} is null
     * @throws IllegalArgumentException if the shape is not valid, or the segment is on the
     *     heap, read-only, misaligned or too small
     * @throws IllegalStateException if the segment's arena is closed
     */
    public static Tensor wrap(MemorySegment segment, ElementType type, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(type, "type");
        long[] s = shape.clone();
        long n = checkShape(s);
        if (segment.address() % type.byteSize() != 0) {
            throw new IllegalArgumentException("segment address is not " + type.byteSize() + "-byte aligned (" + type
                    + " elements)");
        }
        MemorySegment slice = NativeMemory.wrappable(segment, n * type.byteSize(),
                "a " + type + " tensor of shape " + Arrays.toString(s), "use Tensor.fromArray");
        return new Tensor(slice, s, n, type, null);
    }

    /**
     * A new owned float32 tensor holding a copy of {@code data} (C order).
     *
     * @param data the elements, as many as the shape has
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor that the caller closes
     * @throws NullPointerException if {@code data} is null
     * @throws IllegalArgumentException if the shape is not valid or has another element count
     */
    public static Tensor fromArray(float[] data, long... shape) {
        return fromArray(data, ElementType.FLOAT32, shape);
    }

    /**
     * A new owned tensor of {@code type} holding {@code data} (C order), each value rounded to the type.
     *
     * @param data the elements, as many as the shape has
     * @param type the element type
     * @param shape as {@link #allocate(long...)}
     * @return a new tensor that the caller closes
     * @throws NullPointerException if {@code data} or {@code type} is null
     * @throws IllegalArgumentException if the shape is not valid or has another element count
     */
    public static Tensor fromArray(float[] data, ElementType type, long... shape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(type, "type");
        long[] s = shape.clone();
        long n = checkShape(s);
        if (data.length != n) {
            throw new IllegalArgumentException(
                    "data has " + data.length + " elements but shape " + Arrays.toString(s) + " has " + n);
        }
        Tensor t = allocate(type, s);
        t.write(t.segment, data);
        return t;
    }

    /**
     * A new owned host tensor with this tensor's values converted to {@code type} (rounded to
     * nearest even when narrowing, exact when widening); a copy also when the type is the same.
     *
     * @param type the element type of the copy
     * @return a new host tensor that the caller closes
     * @throws NullPointerException if {@code type} is null
     * @throws IllegalStateException if this tensor is closed
     */
    public Tensor to(ElementType type) {
        Objects.requireNonNull(type, "type");
        return fromArray(toArray(), type, shape);
    }

    /**
     * Reads a NumPy {@code .npy} file, C order: float16 ({@code <f2}) as a FLOAT16 tensor,
     * float32 as FLOAT32, float64 converted to FLOAT32.
     *
     * @param path the file
     * @return a new tensor that the caller closes (shape [1] for a 0-d array)
     * @throws NullPointerException if {@code path} is null
     * @throws IOException if the file cannot be read or is not a C-order float16, float32 or
     *     float64 array
     */
    public static Tensor readNpy(Path path) throws IOException {
        Npy.Array a = Npy.read(Objects.requireNonNull(path, "path"));
        float[] values = new float[a.values().length];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) a.values()[i];
        }
        ElementType type = a.descr().equals("<f2") ? ElementType.FLOAT16 : ElementType.FLOAT32;
        return fromArray(values, type, a.shape().length == 0 ? new long[] {1} : a.shape());
    }

    /**
     * Writes this tensor as a {@code .npy} file (little-endian, C order): float16 as
     * {@code <f2}, float32 as {@code <f4}, and bfloat16, which NumPy lacks, widened exactly to
     * {@code <f4}. Device memory is copied to the host first.
     *
     * @param path the file, replaced if it exists
     * @throws NullPointerException if {@code path} is null
     * @throws IOException if the file cannot be written
     * @throws IllegalStateException if this tensor is closed
     */
    public void writeNpy(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (device != Device.CPU || type == ElementType.BFLOAT16) {
            float[] values = toArray();
            if (type == ElementType.FLOAT16) {
                short[] bits = new short[values.length];
                for (int i = 0; i < bits.length; i++) {
                    bits[i] = type.encode(values[i]); // exact: the values are float16 already
                }
                Npy.writeFloat16(shape, MemorySegment.ofArray(bits), path);
            } else {
                Npy.writeFloat32(shape, MemorySegment.ofArray(values), path);
            }
            return;
        }
        guard().enter();
        try {
            checkMemoryAlive();
            if (type == ElementType.FLOAT16) {
                Npy.writeFloat16(shape, segment, path);
            } else {
                Npy.writeFloat32(shape, segment, path);
            }
        } finally {
            guard().exit();
        }
    }

    /**
     * This tensor's memory seen with another shape of the same element count, as PyTorch's
     * {@code view} (or {@code reshape}) of a contiguous tensor: no copy, C order kept, e.g.
     * [B, L, H * D] as [B, L, H, D], or [N, C, H, W] as [N, C, H * W]. One dimension may be
     * -1, inferred from the others (as in PyTorch).
     *
     * <p>The view is borrowed: closing it frees nothing, and it is usable while this
     * tensor's memory is (for an owned tensor, until this tensor is closed; after that using
     * the view throws {@link IllegalStateException}). It has this tensor's element type and
     * device; writes through either are seen by both. A kernel call that uses a view holds
     * this tensor open, as it holds its own arguments.
     *
     * @param shape the new shape: 1..{@value #MAX_RANK} dimensions, each >= 1 or one -1
     * @return a new tensor sharing this tensor's memory
     * @throws NullPointerException if {@code shape} is null
     * @throws IllegalArgumentException if the shape has no or too many dimensions, a dimension
     *     0 or below -1, more than one -1, or another element count than this tensor
     * @throws IllegalStateException if this tensor (or the one it views) is closed
     */
    public Tensor view(long... shape) {
        Objects.requireNonNull(shape, "shape");
        checkOpen();
        long[] s = inferShape(shape.clone());
        long n = checkShape(s);
        if (n != elementCount) {
            throw new IllegalArgumentException("view: shape " + Arrays.toString(shape) + " has " + n
                    + " elements but the tensor " + Arrays.toString(this.shape) + " has " + elementCount);
        }
        return new Tensor(segment, s, n, type, null, device, home, base == null ? this : base);
    }

    /** Replaces one -1 by the size that makes the element count this tensor's (torch's view rule). */
    private long[] inferShape(long[] s) {
        int inferred = -1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1 && inferred >= 0) {
                throw new IllegalArgumentException("view: only one dimension can be -1 (inferred), shape "
                        + Arrays.toString(s));
            } else if (s[i] == -1) {
                inferred = i;
            } else if (s[i] < 1) {
                throw new IllegalArgumentException("view: shape " + Arrays.toString(s) + " has a dimension " + s[i]
                        + " (must be >= 1, or -1 to infer it)");
            }
        }
        if (inferred < 0) {
            return s; // checkShape counts the elements, overflow included
        }
        long known = 1; // product of the other dimensions, each >= 1; saturated on overflow
        try {
            for (long d : s) {
                known = d == -1 ? known : Math.multiplyExact(known, d);
            }
        } catch (ArithmeticException overflow) {
            known = Long.MAX_VALUE;
        }
        if (known > elementCount || elementCount % known != 0) {
            throw new IllegalArgumentException("view: shape " + Arrays.toString(s) + " is invalid for a tensor of "
                    + elementCount + " elements " + Arrays.toString(shape));
        }
        s[inferred] = elementCount / known;
        return s;
    }

    /**
     * The shape (readable after close too).
     *
     * @return a copy of the shape
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The number of dimensions.
     *
     * @return 1..{@value #MAX_RANK}
     */
    public int rank() {
        return shape.length;
    }

    /**
     * The size of one dimension.
     *
     * @param i the dimension, 0..rank-1
     * @return its size
     * @throws IndexOutOfBoundsException if {@code i} is not a dimension
     */
    public long dim(int i) {
        if (i < 0 || i >= shape.length) {
            throw new IndexOutOfBoundsException("dimension " + i + " of a rank-" + shape.length + " tensor");
        }
        return shape[i];
    }

    /**
     * The number of elements.
     *
     * @return the product of the shape
     */
    public long elementCount() {
        return elementCount;
    }

    /**
     * The type of the elements.
     *
     * @return the element type
     */
    public ElementType elementType() {
        return type;
    }

    /**
     * The device whose memory holds the elements.
     *
     * @return {@link Device#CPU} for host memory
     */
    public Device device() {
        return device;
    }

    /**
     * The elements, of {@link #elementType()}, C order; host memory only (see the class
     * comment). The segment is valid while this tensor is open, and, for an owned tensor,
     * while it is reachable: keep a reference to the tensor as long as the segment is used,
     * since the safety net frees an unreachable tensor's memory (later accesses then throw
     * {@link IllegalStateException}).
     *
     * @return the memory, not a copy
     * @throws IllegalStateException if this tensor (or the one it views) is closed, or it is
     *     in device memory
     */
    public MemorySegment segment() {
        checkOpen();
        requireHostMemory("segment()");
        return segment;
    }

    /**
     * A copy of the elements in C order as floats (16-bit types widened exactly; copied from
     * the device when they live there).
     *
     * @return a new array of {@link #elementCount()} floats
     * @throws IllegalStateException if this tensor (or the one it views) is closed or its
     *     memory was freed
     */
    public float[] toArray() {
        if (device != Device.CPU) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(segment.byteSize(), NativeMemory.ALIGNMENT);
                home.copyBytes("Tensor.toArray", host, this, segment, false);
                return read(host);
            }
        }
        guard().enter();
        try {
            checkMemoryAlive();
            return read(segment);
        } finally {
            guard().exit();
        }
    }

    /**
     * Copies {@code data} (C order, same element count) into this tensor, rounded to its element type.
     *
     * @param data {@link #elementCount()} floats
     * @throws NullPointerException if {@code data} is null
     * @throws IllegalArgumentException if {@code data} has another length
     * @throws IllegalStateException if this tensor (or the one it views) is closed or its
     *     memory was freed
     */
    public void copyFrom(float[] data) {
        Objects.requireNonNull(data, "data");
        if (data.length != elementCount) {
            throw new IllegalArgumentException("data has " + data.length + " elements, tensor has " + elementCount);
        }
        if (device != Device.CPU) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(segment.byteSize(), NativeMemory.ALIGNMENT);
                write(host, data);
                home.copyBytes("Tensor.copyFrom", host, this, segment, true);
            }
            return;
        }
        guard().enter();
        try {
            checkMemoryAlive();
            write(segment, data);
        } finally {
            guard().exit();
        }
    }

    /**
     * The element at a full index, as a float; host memory only.
     *
     * @param index one component per dimension
     * @return the element, widened exactly
     * @throws IllegalArgumentException if the index has another number of components
     * @throws IndexOutOfBoundsException if a component is outside its dimension
     * @throws IllegalStateException if this tensor is closed or in device memory
     */
    public float get(long... index) {
        checkOpen();
        requireHostMemory("get");
        long i = flatIndex(index);
        try {
            return type == ElementType.FLOAT32 ? segment.getAtIndex(ValueLayout.JAVA_FLOAT, i)
                    : type.decode(segment.getAtIndex(ValueLayout.JAVA_SHORT, i));
        } finally {
            Reference.reachabilityFence(this); // the safety net must not free the memory during the read
        }
    }

    /**
     * Sets the element at a full index (rounded to the element type); host memory only.
     *
     * @param value the value
     * @param index one component per dimension
     * @throws IllegalArgumentException if the index has another number of components
     * @throws IndexOutOfBoundsException if a component is outside its dimension
     * @throws IllegalStateException if this tensor is closed or in device memory
     */
    public void set(float value, long... index) {
        checkOpen();
        requireHostMemory("set");
        long i = flatIndex(index);
        try {
            if (type == ElementType.FLOAT32) {
                segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
            } else {
                segment.setAtIndex(ValueLayout.JAVA_SHORT, i, type.encode(value));
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Whether {@link #close()} was called on this tensor (a view whose tensor is closed is not
     * closed itself, but cannot be used).
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return guard.isClosed();
    }

    /**
     * Frees owned memory (waiting for kernels using it to finish); idempotent. Closing a
     * borrowed tensor (a view among them) frees nothing, but it can no longer be used.
     * Owned device memory is freed through the context that allocated it.
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
        return "Tensor" + Arrays.toString(shape) + (type == ElementType.FLOAT32 ? "" : " " + type)
                + (device == Device.CPU ? "" : " on " + device)
                + (isClosed() ? " (closed)" : "");
    }

    // ---- for Inkwell's kernels ----------------------------------------------------------

    /**
     * The guard that keeps the memory alive while a kernel holds it: this tensor's own, or
     * for a view the viewed tensor's (so that closing it waits for kernels using the view).
     * A view's own closed state is checked by {@link #checkMemoryAlive()} and
     * {@link #nativeSegment()}.
     */
    CloseGuard guard() {
        return base == null ? guard : base.guard;
    }

    /** Throws if this tensor, or the tensor it views, is closed. */
    private void checkOpen() {
        guard.checkOpen();
        if (base != null) {
            base.guard.checkOpen();
        }
    }

    /** The memory as kernels take it: host or device, never dereferenced in Java. */
    MemorySegment nativeSegment() {
        checkOpen();
        return segment;
    }

    /** A tensor over memory of another device, for tests of the device checks. */
    static Tensor onDevice(MemorySegment segment, Device device, long... shape) {
        long[] s = shape.clone();
        return new Tensor(segment, s, checkShape(s), ElementType.FLOAT32, null, device, null);
    }

    /** Host memory holding this tensor's element type, as floats. */
    private float[] read(MemorySegment memory) {
        if (type == ElementType.FLOAT32) {
            return memory.toArray(ValueLayout.JAVA_FLOAT);
        }
        short[] bits = memory.toArray(ValueLayout.JAVA_SHORT);
        float[] values = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            values[i] = type.decode(bits[i]);
        }
        return values;
    }

    /** Writes floats into host memory of this tensor's element type (rounding to it). */
    private void write(MemorySegment memory, float[] data) {
        if (type == ElementType.FLOAT32) {
            MemorySegment.copy(data, 0, memory, ValueLayout.JAVA_FLOAT, 0, data.length);
            return;
        }
        short[] bits = new short[data.length];
        for (int i = 0; i < data.length; i++) {
            bits[i] = type.encode(data[i]);
        }
        MemorySegment.copy(bits, 0, memory, ValueLayout.JAVA_SHORT, 0, bits.length);
    }

    private void requireHostMemory(String what) {
        if (device != Device.CPU) {
            throw new IllegalStateException("tensor is in " + device + " device memory, which Java cannot read: " + what
                    + " needs host memory; use toArray(), copyFrom() or Inkwell.copy()");
        }
    }

    /** For kernels, after entering the guard: whether the memory itself still exists (its arena is open). */
    boolean memoryAlive() {
        return segment.scope().isAlive();
    }

    /** Open (as is the tensor it views) and its memory alive: its address means something. */
    private boolean usable() {
        return !guard.isClosed() && (base == null || !base.guard.isClosed()) && memoryAlive();
    }

    void checkMemoryAlive() {
        guard.checkOpen(); // a closed view; the viewed tensor's guard is held by the caller
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("tensor memory was freed: the arena it was allocated in or wrapped from is closed");
        }
    }

    /**
     * Same device, same first byte and same size. False when either is closed or freed: its
     * address may have been reused, and the kernel call refuses it anyway, naming it.
     */
    boolean sameMemory(Tensor other) {
        return device == other.device && usable() && other.usable() && segment.address() == other.segment.address()
                && segment.byteSize() == other.segment.byteSize();
    }

    /** Whether the two share a byte; false when either is closed or freed, as {@link #sameMemory}. */
    boolean overlaps(Tensor other) {
        if (device != other.device || !usable() || !other.usable()) {
            return false; // different address spaces, or stale addresses
        }
        long a0 = segment.address(), a1 = a0 + segment.byteSize();
        long b0 = other.segment.address(), b1 = b0 + other.segment.byteSize();
        return a0 < b1 && b0 < a1;
    }

    /** Checks the shape and returns the element count. */
    static long checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length == 0 || shape.length > MAX_RANK) {
            throw new IllegalArgumentException("shape must have 1.." + MAX_RANK + " dimensions, got " + shape.length);
        }
        long n = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a dimension " + d + " (must be >= 1)");
            }
            if (d > MAX_ELEMENTS || n > MAX_ELEMENTS / d) {
                BigInteger total = BigInteger.ONE;
                for (long e : shape) {
                    total = total.multiply(BigInteger.valueOf(e));
                }
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + total
                        + " elements, more than the " + MAX_ELEMENTS + " a tensor may have");
            }
            n *= d;
        }
        return n;
    }

    private long flatIndex(long[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index has " + index.length + " components, tensor has rank " + shape.length);
        }
        long flat = 0;
        for (int i = 0; i < shape.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside " + Arrays.toString(shape));
            }
            flat = flat * shape[i] + index[i];
        }
        return flat;
    }
}
