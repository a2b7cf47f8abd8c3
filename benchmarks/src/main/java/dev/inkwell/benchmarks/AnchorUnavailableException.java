package dev.inkwell.benchmarks;

/**
 * Thrown from a {@code @Setup} when an anchor (OpenCV, BoofCV, libtorch, the JNI helper) or
 * an Inkwell kernel cannot run here. JMH then reports that one benchmark as failed with this
 * one-line message and goes on with the others. No stack trace: the message says it all.
 */
final class AnchorUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    AnchorUnavailableException(String message) {
        super(message, null, false, false);
    }

    static AnchorUnavailableException of(String what, Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String detail = root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
        return new AnchorUnavailableException("UNAVAILABLE: " + what + " (" + detail + "); this benchmark is skipped");
    }
}
