package dev.inkwell.internal;

import dev.inkwell.InkwellException;
import dev.inkwell.Status;
import dev.inkwell.bindings.InkwellNative;

/** Turns native status codes into exceptions carrying the native message. */
public final class NativeCalls {
    private NativeCalls() {}

    /**
     * Throws if {@code status} is not OK. Must run on the thread that made the failing call,
     * right after it: the message is thread-local on the native side.
     */
    public static void check(int status, String operation) {
        if (status == InkwellNative.INKWELL_OK()) {
            return;
        }
        String message = InkwellNative.inkwell_last_error_message().reinterpret(Integer.MAX_VALUE).getString(0);
        throw new InkwellException(Status.fromCode(status), operation + " failed (" + Status.fromCode(status) + "): " + message);
    }
}
