package dev.inkwell;

/** Where a context runs its kernels. */
public enum Device {
    /** Multi-threaded, vectorised C++ kernels; always available. */
    CPU(0),
    /** Hand-written CUDA kernels; needs a CUDA build of the library and an NVIDIA GPU. */
    CUDA(1);

    private final int code;

    Device(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }
}
