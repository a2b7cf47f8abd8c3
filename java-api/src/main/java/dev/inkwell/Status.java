package dev.inkwell;

/** Status codes of the native library ({@code inkwell_status} in {@code inkwell.h}). */
public enum Status {
    OK(0),
    INVALID_ARGUMENT(1),
    OUT_OF_MEMORY(2),
    UNSUPPORTED(3),
    INTERNAL_ERROR(4),
    /** A code this version of the Java API does not know: the library is newer than the API. */
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The native code. */
    public int code() {
        return code;
    }

    /** The status for a native code, {@link #UNKNOWN} if there is none. */
    public static Status fromCode(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
