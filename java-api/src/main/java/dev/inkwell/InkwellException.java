package dev.inkwell;

/**
 * A failure reported by the native library: its status and its message. Arguments that
 * Java can check (nulls, sizes, closed objects, NaN) are rejected before any native call
 * with {@link IllegalArgumentException}, {@link NullPointerException} or
 * {@link IllegalStateException}; this exception carries what only the native side knows
 * (an unavailable device, a failed allocation, a native check).
 */
public class InkwellException extends RuntimeException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /** What kind of failure this was. */
    private final Status status;

    /**
     * An exception for a native failure.
     *
     * @param status the native status
     * @param message what failed, with the native message
     */
    public InkwellException(Status status, String message) {
        super(message);
        this.status = status;
    }

    /**
     * An exception for a failure with a cause (a library that cannot be loaded, say).
     *
     * @param status the status
     * @param message what failed
     * @param cause the underlying failure
     */
    public InkwellException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /**
     * What kind of failure this was.
     *
     * @return the status
     */
    public Status status() {
        return status;
    }
}
