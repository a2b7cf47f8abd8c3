package dev.inkwell;

/** Status codes of the native library ({@code inkwell_status} in {@code inkwell.h}). */
public enum Status {
    /** Success. */
    OK(0),
    /** An argument the native side refused (the message names it and its value). */
    INVALID_ARGUMENT(1),
    /** Host or device memory could not be allocated. */
    OUT_OF_MEMORY(2),
    /** Not available here: a device, a backend or the native library itself. */
    UNSUPPORTED(3),
    /** A failure inside the library (a CUDA error, say); the message says which. */
    INTERNAL_ERROR(4),
    /** A code this version of the Java API does not know: the library is newer than the API. */
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /**
     * The native code.
     *
     * @return the {@code inkwell_status} value; -1 for {@link #UNKNOWN}
     */
    public int code() {
        return code;
    }

    /**
     * The status for a native code.
     *
     * @param code an {@code inkwell_status} value
     * @return its status, {@link #UNKNOWN} if there is none
     */
    public static Status fromCode(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
