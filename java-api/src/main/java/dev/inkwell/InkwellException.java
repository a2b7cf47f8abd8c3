package dev.inkwell;

/**
 * A failure reported by the native library: its status and its message. Arguments that
 * Java can check (nulls, sizes, closed objects, NaN) are rejected before any native call
 * with {@link IllegalArgumentException}, {@link NullPointerException} or
 * {@link IllegalStateException}; this exception carries what only the native side knows
 * (an unavailable device, a failed allocation, a native check).
 */
public class InkwellException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status status;

    public InkwellException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public InkwellException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** What kind of failure this was. */
    public Status status() {
        return status;
    }
}
