package dev.inkwell;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Makes close() safe against concurrent use: every native call holds the read side for
 * its duration, close() takes the write side, so memory is never freed under a running
 * kernel, and use after close is an {@link IllegalStateException}, not a crash.
 */
final class CloseGuard {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String what;
    private volatile boolean closed;

    CloseGuard(String what) {
        this.what = what;
    }

    /** Marks one use as started; pair with {@link #exit()}. */
    void enter() {
        if (!tryEnter()) {
            throw new IllegalStateException(what + " is closed");
        }
    }

    /**
     * As {@link #enter()}, but returns false (holding nothing) when closed, so that the
     * caller can name the argument in its message ("attention: k is closed").
     */
    boolean tryEnter() {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            return false;
        }
        return true;
    }

    void exit() {
        lock.readLock().unlock();
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException(what + " is closed");
        }
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Waits for running uses to finish; returns true the first time only. Also called by the
     * safety net's cleaner thread (NativeMemory.Owner) before it frees an unreachable
     * object's memory, so nothing here may refer to that object.
     */
    boolean close() {
        return close(() -> null);
    }

    /**
     * As {@link #close()}, but once no use is running asks {@code objection} whether closing
     * is allowed: a non-null answer is thrown as an {@link IllegalStateException} and the
     * object stays open.
     */
    boolean close(Supplier<String> objection) {
        lock.writeLock().lock();
        try {
            if (closed) {
                return false;
            }
            String reason = objection.get();
            if (reason != null) {
                throw new IllegalStateException(reason);
            }
            closed = true;
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }
}
