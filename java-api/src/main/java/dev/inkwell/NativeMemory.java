package dev.inkwell;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Allocation and wrapping rules shared by {@link Image} and {@link Tensor}, and the safety
 * net for owned memory that is never closed.
 *
 * <p>An image or tensor that owns its memory (host memory from {@link #allocateOwned}, or
 * device memory in an arena of its own) registers an {@link Owner} with a {@link Cleaner}.
 * {@code close()} frees the memory at once through the owner; if the object becomes
 * unreachable unclosed, the garbage collector finds it and the cleaner thread frees it, and
 * the first time that happens in a process a warning names the kind and size of what was
 * leaked (with {@code -Dinkwell.leakDetection=paranoid}, also where it was allocated). Memory
 * lent by a {@link Workspace} goes back to it instead of being freed, on close() or from the
 * cleaner, unless the workspace is closed (its {@link Recycler} says which).
 *
 * <p>The Java heap does not see native memory: a 16 MB tensor is a small object to the
 * collector, which may then not run for a long time while native memory grows. So owned
 * bytes are counted, and when they pass a threshold an allocation asks for a collection
 * ({@link System#gc()}) before it proceeds, as the JDK does for direct buffers. The
 * threshold is {@value #COLLECT_FLOOR_BYTES} bytes, or twice the live bytes after the last
 * collection if that is more, so that a program that closes what it allocates (however
 * much) causes at most a logarithmic number of collections, while one that leaks is held
 * near the floor.
 */
final class NativeMemory {
    /** Cache-line alignment, so SIMD kernels start rows and tensors on a line. */
    static final long ALIGNMENT = 64;

    /** System property choosing what the leak warning says: simple, paranoid or disabled. */
    static final String LEAK_DETECTION_PROPERTY = "inkwell.leakDetection";

    /** Owned bytes below which no collection is requested (256 MiB). */
    static final long COLLECT_FLOOR_BYTES = 256L << 20;

    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("dev.inkwell");

    private static final AtomicLong LIVE_BYTES = new AtomicLong(); // owned, not yet freed
    private static final AtomicLong LEAKS = new AtomicLong(); // owners freed by the cleaner
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static final AtomicBoolean COLLECTING = new AtomicBoolean();
    private static volatile long collectAt = COLLECT_FLOOR_BYTES;

    private NativeMemory() {}

    /**
     * Memory with its own shared arena (shared: the cleaner thread may close it), which the
     * owner closes, or a {@link Recycler} takes back.
     */
    record Owned(Arena arena, MemorySegment segment) {
        long bytes() {
            return segment.byteSize();
        }
    }

    /**
     * Where an owner's memory goes instead of being freed: a {@link Workspace} keeps the
     * block for its next allocation of the same size. Called once per lending, from the
     * owner's close() or from the cleaner thread, after the owner's guard is closed.
     */
    interface Recycler {
        /**
         * Offers a block back; true if kept (the memory stays allocated and counted as owned),
         * false if the caller must free it (the recycler is closed).
         */
        boolean takeBack(Owned block);
    }

    /** {@code bytes} of zeroed host memory in a new shared arena, counted as owned until released. */
    static Owned allocateOwned(long bytes) {
        reserve(bytes);
        Arena arena = Arena.ofShared();
        try {
            return new Owned(arena, arena.allocate(bytes, ALIGNMENT));
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            LIVE_BYTES.addAndGet(-bytes);
            throw e;
        }
    }

    /**
     * {@code bytes} of {@code context}'s device memory (host memory through the context for a
     * CPU one; contents unspecified) in a new shared arena, counted as owned until released.
     *
     * @throws IllegalStateException if the context is closed
     * @throws InkwellException if the memory cannot be allocated
     */
    static Owned allocateOwned(Inkwell context, long bytes) {
        reserve(bytes);
        Arena arena = Arena.ofShared(); // shared: the safety net may free it from the cleaner thread
        try {
            return new Owned(arena, context.allocateDeviceMemory(bytes, arena));
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            LIVE_BYTES.addAndGet(-bytes);
            throw e;
        }
    }

    /**
     * The memory of {@code block} under a new shared arena of its own (which {@link #returnTo}'s
     * recycler closes), so that segments of one lending die with it while the block lives on.
     */
    static Owned lend(Owned block) {
        Arena arena = Arena.ofShared(); // shared: the safety net may close it from the cleaner thread
        return new Owned(arena, block.segment().reinterpret(arena, null));
    }

    /**
     * The recycler of a {@link #lend lending} of {@code block}: closes the lending's arena, then
     * offers the block to {@code recycler}, and frees it if that does not keep it.
     */
    static Recycler returnTo(Recycler recycler, Owned block) {
        return lent -> {
            lent.arena().close();
            if (!recycler.takeBack(block)) {
                free(block);
            }
            return true; // dealt with: kept, or freed (and released) here
        };
    }

    /** Frees a block from {@link #allocateOwned} that no owner holds (a workspace's free block). */
    static void free(Owned block) {
        block.arena().close(); // device memory: the arena's cleanup frees it through its context
        release(block.bytes(), false);
    }

    /**
     * Counts {@code bytes} about to be allocated as owned (host or device memory, freed
     * through an {@link Owner} or by {@link #unreserve}), asking for a collection first if
     * owned memory has grown past the threshold: unclosed, unreachable images and tensors are
     * then freed by the cleaner.
     */
    static void reserve(long bytes) {
        long live = LIVE_BYTES.addAndGet(bytes);
        if (live > collectAt && COLLECTING.compareAndSet(false, true)) {
            try {
                // Set before collecting, so that the cleaner's releases (which lower it
                // when they find leaks) come after and win.
                collectAt = Math.max(COLLECT_FLOOR_BYTES, 2 * live);
                System.gc();
            } finally {
                COLLECTING.set(false);
            }
        }
    }

    /** Undoes {@link #reserve} for an allocation that failed. */
    static void unreserve(long bytes) {
        LIVE_BYTES.addAndGet(-bytes);
    }

    /**
     * Puts {@code arena} (holding {@code bytes} already {@linkplain #reserve reserved}) under
     * the safety net for {@code referent}, the image or tensor that owns it.
     *
     * @param guard the referent's guard: the cleaner closes it before freeing, so that it
     *     waits for any use still holding it
     * @param description what the referent is, for the warning ("a FLOAT32 tensor [2, 3]");
     *     must not refer to the referent (a static method's lambda over its fields is fine)
     */
    static Owner own(Object referent, Arena arena, long bytes, CloseGuard guard, Supplier<String> description) {
        // Image's memory is its arena's whole content; only the arena is needed to free it.
        return own(referent, new Owned(arena, MemorySegment.NULL), bytes, null, guard, description);
    }

    /**
     * As {@link #own(Object, Arena, long, CloseGuard, Supplier)} for a block that, when the
     * referent is closed or found unreachable, is first offered to {@code recycler} (may be
     * null) and freed only if the recycler does not keep it.
     */
    static Owner own(Object referent, Owned block, Recycler recycler, CloseGuard guard,
            Supplier<String> description) {
        return own(referent, block, block.bytes(), recycler, guard, description);
    }

    private static Owner own(Object referent, Owned block, long bytes, Recycler recycler, CloseGuard guard,
            Supplier<String> description) {
        Owner owner = new Owner(block, bytes, recycler, guard, description,
                leakDetection() == LeakDetection.PARANOID ? new Throwable("allocated here") : null);
        owner.cleanable = CLEANER.register(referent, owner);
        return owner;
    }

    /** Runs {@code action} on the cleaner thread once {@code referent} is unreachable, or when cleaned. */
    static Cleaner.Cleanable onUnreachable(Object referent, Runnable action) {
        return CLEANER.register(referent, action);
    }

    /** What the leak warning says, read at each allocation from {@value #LEAK_DETECTION_PROPERTY}. */
    enum LeakDetection {
        /** No warning (the memory is still freed). */
        DISABLED,
        /** The default: the kind and size of the first leaked object. */
        SIMPLE,
        /** Also where it was allocated: a stack trace is recorded at every allocation. */
        PARANOID
    }

    static LeakDetection leakDetection() {
        String value = System.getProperty(LEAK_DETECTION_PROPERTY, "simple").trim().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "paranoid" -> LeakDetection.PARANOID;
            case "disabled", "off", "none" -> LeakDetection.DISABLED;
            default -> LeakDetection.SIMPLE;
        };
    }

    /**
     * Owned memory and the cleaning action that releases it, exactly once: from
     * {@link #free()} (the owner's close()) or from the cleaner thread when the owner became
     * unreachable unclosed. Releasing hands the block to the recycler if there is one and it
     * keeps it, else frees it. Holds the arena, never the owner, which would keep it reachable.
     */
    static final class Owner implements Runnable {
        private final Owned block; // its segment is used only by a recycler
        private final long bytes;
        private final Recycler recycler; // null: always freed
        private final CloseGuard guard;
        private final Supplier<String> description;
        private final Throwable allocatedAt; // paranoid mode only
        private volatile boolean closedByOwner;
        private Cleaner.Cleanable cleanable;

        private Owner(Owned block, long bytes, Recycler recycler, CloseGuard guard, Supplier<String> description,
                Throwable allocatedAt) {
            this.block = block;
            this.bytes = bytes;
            this.recycler = recycler;
            this.guard = guard;
            this.description = description;
            this.allocatedAt = allocatedAt;
        }

        /**
         * Frees the memory now, or returns it to its recycler; the owner calls it once, from
         * close(), after closing its guard.
         */
        void free() {
            closedByOwner = true;
            cleanable.clean(); // runs run() here unless the cleaner thread already has
        }

        @Override
        public void run() {
            boolean leaked = !closedByOwner;
            if (leaked) {
                // Kernels keep their arguments reachable (Inkwell.enterAll), so nothing should
                // hold the guard of an unreachable object; if something does, wait for it
                // rather than free memory under it.
                guard.close();
            }
            if (recycler != null && recycler.takeBack(block)) {
                // Kept for reuse: still allocated, still counted as owned.
                if (leaked) {
                    warnOnce(this, "returned to its workspace");
                    LEAKS.incrementAndGet();
                }
                return;
            }
            try {
                block.arena().close(); // device memory: the arena's cleanup frees it through its context
            } catch (RuntimeException e) {
                if (!leaked) {
                    throw e; // close() reports it; the memory stays allocated
                }
                LOG.log(System.Logger.Level.WARNING, "Inkwell could not free " + description.get()
                        + ", found unreachable and not closed: " + e.getMessage(), e);
                return;
            }
            release(bytes, leaked);
            if (leaked) {
                warnOnce(this, "freed");
                LEAKS.incrementAndGet(); // last: a test that sees the count sees the warning too
            }
        }
    }

    private static void release(long bytes, boolean leaked) {
        long live = LIVE_BYTES.addAndGet(-bytes);
        if (leaked) {
            // A program that leaks: collect again when as much is live again, not at the
            // (possibly doubled) threshold a growing working set would get.
            collectAt = Math.max(COLLECT_FLOOR_BYTES, 2 * live);
        }
    }

    private static void warnOnce(Owner owner, String done) {
        if (leakDetection() == LeakDetection.DISABLED || !WARNED.compareAndSet(false, true)) {
            return;
        }
        String message = "Inkwell: " + owner.description.get() + " (" + sizeText(owner.bytes) + ") was not closed;"
                + " the garbage collector found it unreachable and its memory has been " + done + "."
                + " Close images and tensors (try-with-resources) so that memory is returned at once."
                + " This is reported once per process"
                + (owner.allocatedAt == null ? "; run with -D" + LEAK_DETECTION_PROPERTY
                        + "=paranoid to record where each image and tensor is allocated."
                        : "; it was allocated at the place in the trace below.");
        if (owner.allocatedAt == null) {
            LOG.log(System.Logger.Level.WARNING, message);
        } else {
            LOG.log(System.Logger.Level.WARNING, message, owner.allocatedAt);
        }
    }

    static String sizeText(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }

    // ---- for tests --------------------------------------------------------------------------

    /** Owned bytes (host and device) not yet freed. */
    static long liveOwnedBytes() {
        return LIVE_BYTES.get();
    }

    /** Owned images and tensors freed by the cleaner rather than closed. */
    static long leaksCollected() {
        return LEAKS.get();
    }

    /** Lets the next leak be reported again, as if in a new process. */
    static void resetLeakWarning() {
        WARNED.set(false);
    }

    /**
     * Checks that a caller's segment can back an object of {@code bytes} bytes and returns
     * the slice that does. {@code what} describes the object in messages, {@code copyHint}
     * says how to get heap data in instead.
     */
    static MemorySegment wrappable(MemorySegment segment, long bytes, String what, String copyHint) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment must be native (off-heap), got a heap segment; " + copyHint);
        }
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException("segment is read-only; kernels may write to it");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("segment's arena is already closed");
        }
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("segment has " + segment.byteSize() + " bytes but " + what + " needs " + bytes);
        }
        return segment.asSlice(0, bytes);
    }
}
