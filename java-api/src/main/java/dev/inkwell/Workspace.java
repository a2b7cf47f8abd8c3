package dev.inkwell;

import java.lang.ref.Cleaner;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A reusable store of memory blocks for one context's kernel results, as PyTorch's CUDA
 * caching allocator keeps freed blocks for the next allocation: a denoising loop that runs
 * the same shapes at every step allocates nothing after its first step.
 *
 * <pre>{@code
 * try (Workspace ws = Workspace.create(inkwell)) {
 *     ws.run(() -> {
 *         for (int step = 0; step < 20; step++) {
 *             try (Tensor noise = unet.forward(x, t[step], text)) { ... }  // steps 2..20 reuse step 1's blocks
 *         }
 *     });
 * }
 * }</pre>
 *
 * <p><b>What is reused.</b> While a workspace is bound on a thread ({@link #run}, {@link #call})
 * the results of its context's kernels ({@link Inkwell}, {@link Inkwell#ops()},
 * {@link Inkwell#layers()}, so every model's activations) and the owned tensors of
 * {@link Tensor#allocate(Inkwell, long...)} take a block from its free lists when one of
 * exactly the needed byte size is free, else a new block (host memory for a CPU context, the
 * device's for a CUDA one). Closing such a tensor returns the block to the free list instead
 * of freeing it. Other allocations (host tensors without a context, images, tensors in a
 * caller's arena, kernels of another context) are as without a workspace. Blocks are keyed by
 * exact size, so repeating the same shapes reuses every block; a run of other shapes adds
 * blocks of its sizes ({@link #trim()} frees the free ones between phases of different
 * shapes, so that the workspace holds the larger of their peaks, not the sum).
 *
 * <p><b>Contents.</b> A block lent again holds what its last tensor left there, where a new
 * host tensor would be zeroed: every kernel writes its whole result, so results are the
 * same bits with or without a workspace. A tensor from {@link Tensor#allocate(Inkwell, long...)}
 * is unspecified until written in either case. With {@code -D}{@value #POISON_PROPERTY}{@code =true}
 * (a debugging aid) every host block lent is first filled with NaN bits, so that a kernel that
 * reads its output before writing it shows.
 *
 * <p><b>Ownership.</b> A tensor from a workspace is an ordinary owned tensor to its user: it
 * is closed as any other, and the garbage collector's safety net returns it if it is not
 * (with the usual warning); a {@link Tensor#segment()} kept past its close throws, as for any
 * closed tensor, although the memory behind it has gone back to the workspace. Results that escape the binding stay valid after the binding
 * ends and after the workspace is closed; closing the workspace frees its free blocks at once
 * and each block still lent out when its tensor is closed. Blocks held (free or lent) count as
 * owned native memory. Device blocks are freed through the context, so a CUDA context cannot
 * be closed before its workspace and every tensor from it are. A workspace that becomes
 * unreachable unclosed has its free blocks freed by the garbage collector's cleaner, with a
 * warning.
 *
 * <p><b>Threads.</b> A binding belongs to the thread that made it (a {@link ScopedValue}:
 * threads it starts do not see it, except forks of a structured task scope); bindings on
 * several threads may share one workspace, which is thread-safe. Within one binding,
 * allocation order and sizes do not change results: the bits of every result are those of a
 * run without a workspace, at any thread count.
 */
public final class Workspace implements AutoCloseable {
    /** System property: {@code true} fills every host block lent with NaN bits (a debugging aid). */
    public static final String POISON_PROPERTY = "inkwell.workspace.poison";

    private static final ScopedValue<Workspace> BOUND = ScopedValue.newInstance();
    private static final System.Logger LOG = System.getLogger("dev.inkwell");

    private final Inkwell context;
    private final Pool pool;
    private final Cleaner.Cleanable cleanable;

    private Workspace(Inkwell context) {
        this.context = context;
        this.pool = new Pool(context, Boolean.getBoolean(POISON_PROPERTY));
        this.cleanable = NativeMemory.onUnreachable(this, pool::collected);
    }

    /**
     * A new empty workspace for {@code context}'s kernels.
     *
     * @param context the context whose results it holds; it must outlive the workspace's
     *     device blocks (for a CUDA context, close the workspace and its tensors first)
     * @return a new workspace that the caller closes
     * @throws NullPointerException if {@code context} is null
     * @throws IllegalStateException if the context is closed
     */
    public static Workspace create(Inkwell context) {
        Objects.requireNonNull(context, "context");
        if (context.isClosed()) {
            throw new IllegalStateException("Inkwell context is closed");
        }
        return new Workspace(context);
    }

    /**
     * The context whose results this workspace holds.
     *
     * @return the context given to {@link #create}
     */
    public Inkwell context() {
        return context;
    }

    /**
     * Runs {@code op} with this workspace bound on the current thread (replacing, for its
     * duration, any workspace bound around it).
     *
     * @param op what to run
     * @throws NullPointerException if {@code op} is null
     * @throws IllegalStateException if this workspace is closed
     */
    public void run(Runnable op) {
        Objects.requireNonNull(op, "op");
        checkOpen();
        ScopedValue.where(BOUND, this).run(op);
    }

    /**
     * Calls {@code op} with this workspace bound on the current thread, as {@link #run}, and
     * returns its result (which, if it is a tensor from this workspace, the caller closes as
     * any other).
     *
     * @param <R> the result type
     * @param <X> the exception {@code op} may throw
     * @param op what to call
     * @return {@code op}'s result
     * @throws X what {@code op} throws
     * @throws NullPointerException if {@code op} is null
     * @throws IllegalStateException if this workspace is closed
     */
    public <R, X extends Throwable> R call(ScopedValue.CallableOp<? extends R, X> op) throws X {
        Objects.requireNonNull(op, "op");
        checkOpen();
        return ScopedValue.where(BOUND, this).call(op);
    }

    /**
     * The workspace bound on the current thread if it is {@code context}'s, else null
     * (nothing bound, or another context's: its blocks are never used for this one).
     */
    static Workspace bound(Inkwell context) {
        if (!BOUND.isBound()) {
            return null;
        }
        Workspace ws = BOUND.get();
        return ws.context == context ? ws : null;
    }

    /** A block of {@code bytes} for a new tensor, which gives it back through {@link #recycler()}. */
    NativeMemory.Owned take(long bytes) {
        return pool.take(bytes);
    }

    /** Where the tensors of {@link #take} return their blocks. */
    NativeMemory.Recycler recycler() {
        return pool;
    }

    /**
     * What this workspace has done and holds now.
     *
     * @param blocksAllocated new blocks allocated since creation
     * @param blocksReused allocations served from a free block since creation
     * @param blocksLent blocks held by open tensors now
     * @param blocksFree blocks in the free lists now
     * @param bytesHeld bytes of the blocks held now, lent and free
     * @param bytesFree bytes of the free blocks now
     */
    public record Stats(long blocksAllocated, long blocksReused, long blocksLent, long blocksFree, long bytesHeld,
            long bytesFree) {}

    /**
     * The counts and sizes now (a consistent snapshot).
     *
     * @return the statistics
     */
    public Stats stats() {
        return pool.stats();
    }

    /** Frees the free blocks now (lent ones stay with their tensors); the workspace stays usable. */
    public void trim() {
        pool.freeAll(false);
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return pool.isClosed();
    }

    /**
     * Frees the free blocks; blocks lent out are freed when their tensors close. Idempotent.
     * Binding a closed workspace, or allocating from one still bound, throws
     * {@link IllegalStateException}.
     */
    @Override
    public void close() {
        pool.freeAll(true);
        cleanable.clean(); // nothing left for the safety net: its action sees the pool closed
    }

    @Override
    public String toString() {
        Stats s = stats();
        return "Workspace[" + context.device() + ", " + s.blocksLent() + " lent, " + s.blocksFree() + " free, "
                + NativeMemory.sizeText(s.bytesHeld()) + " held" + (isClosed() ? ", closed]" : "]");
    }

    private void checkOpen() {
        if (pool.isClosed()) {
            throw new IllegalStateException("workspace is closed");
        }
    }

    /**
     * The free lists and counts; what tensors and the safety net refer to, never the
     * {@link Workspace} itself, so that an unclosed workspace can become unreachable.
     */
    private static final class Pool implements NativeMemory.Recycler {
        private final Inkwell context;
        private final boolean poison;
        private final Map<Long, ArrayDeque<NativeMemory.Owned>> free = new HashMap<>();
        private long blocksAllocated, blocksReused, blocksLent, blocksFree, bytesHeld, bytesFree;
        private volatile boolean closed;

        Pool(Inkwell context, boolean poison) {
            this.context = context;
            this.poison = poison;
        }

        NativeMemory.Owned take(long bytes) {
            NativeMemory.Owned block;
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("workspace is closed (still bound while it was closed)");
                }
                ArrayDeque<NativeMemory.Owned> list = free.get(bytes);
                block = list == null ? null : list.poll(); // last returned first: likeliest in cache
                if (block != null) {
                    blocksReused++;
                    blocksLent++;
                    blocksFree--;
                    bytesFree -= bytes;
                }
            }
            if (block == null) {
                // Outside the lock: allocation may ask for a collection, whose cleaner returns blocks here.
                block = context.device() == Device.CPU ? NativeMemory.allocateOwned(bytes)
                        : NativeMemory.allocateOwned(context, bytes);
                synchronized (this) {
                    if (closed) {
                        NativeMemory.free(block);
                        throw new IllegalStateException("workspace is closed (still bound while it was closed)");
                    }
                    blocksAllocated++;
                    blocksLent++;
                    bytesHeld += bytes;
                }
            }
            if (poison && context.device() == Device.CPU) {
                block.segment().fill((byte) 0xFF); // NaN in float32, float16 and bfloat16
            }
            return block;
        }

        @Override
        public boolean takeBack(NativeMemory.Owned block) {
            long bytes = block.bytes();
            synchronized (this) {
                blocksLent--;
                if (closed) {
                    bytesHeld -= bytes; // the owner frees it
                    return false;
                }
                free.computeIfAbsent(bytes, b -> new ArrayDeque<>()).push(block);
                blocksFree++;
                bytesFree += bytes;
                return true;
            }
        }

        /** Frees the free blocks (outside the lock: device frees go through the context). */
        void freeAll(boolean close) {
            List<NativeMemory.Owned> blocks = new ArrayList<>();
            synchronized (this) {
                closed |= close;
                free.values().forEach(blocks::addAll);
                free.clear();
                bytesHeld -= bytesFree;
                blocksFree = 0;
                bytesFree = 0;
            }
            RuntimeException failure = null;
            for (NativeMemory.Owned b : blocks) {
                try {
                    NativeMemory.free(b);
                } catch (RuntimeException e) { // free the others all the same
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        }

        /** The safety net: the workspace became unreachable unclosed. */
        void collected() {
            long bytes;
            synchronized (this) {
                if (closed) {
                    return;
                }
                bytes = bytesFree;
            }
            freeAll(true);
            LOG.log(System.Logger.Level.WARNING, "Inkwell: a workspace holding " + NativeMemory.sizeText(bytes)
                    + " of free blocks was not closed; the garbage collector found it unreachable and has freed them."
                    + " Close workspaces (try-with-resources).");
        }

        boolean isClosed() {
            return closed;
        }

        synchronized Stats stats() {
            return new Stats(blocksAllocated, blocksReused, blocksLent, blocksFree, bytesHeld, bytesFree);
        }
    }
}
