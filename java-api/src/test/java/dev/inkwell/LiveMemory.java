package dev.inkwell;

/** For tests outside this package: the owned native bytes not yet freed (a leak check). */
public final class LiveMemory {
    private LiveMemory() {}

    /**
     * @return bytes of owned tensors and images (host and device) allocated and not yet freed
     */
    public static long ownedBytes() {
        return NativeMemory.liveOwnedBytes();
    }
}
