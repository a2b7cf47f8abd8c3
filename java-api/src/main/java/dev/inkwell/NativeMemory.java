package dev.inkwell;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Allocation and wrapping rules shared by {@link Image} and {@link Tensor}. */
final class NativeMemory {
    /** Cache-line alignment, so SIMD kernels start rows and tensors on a line. */
    static final long ALIGNMENT = 64;

    private NativeMemory() {}

    /** Memory with its own shared arena, which the owner closes. */
    record Owned(Arena arena, MemorySegment segment) {}

    static Owned allocateOwned(long bytes) {
        Arena arena = Arena.ofShared();
        try {
            return new Owned(arena, arena.allocate(bytes, ALIGNMENT));
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
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
