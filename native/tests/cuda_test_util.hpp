// Harness for the CUDA backend's tests (test_cuda_*.cpp): they link libinkwell.so, which
// loads libinkwell_cuda.so from its own directory, and use only the C ABI, comparing a
// CUDA context's results with a CPU context's on the same inputs.
//
// Where no CUDA context can be created (no driver, no device), main() prints "SKIP: <the
// cause>" and exits with 77, which ctest reports as skipped (SKIP_RETURN_CODE). With
// INKWELL_REQUIRE_CUDA=1 in the environment (the GPU check script sets it) that is a
// failure instead: a machine with a GPU must never skip these tests.
#pragma once

#include <cstdlib>
#include <cstring>
#include <vector>

#include "inkwell/inkwell.h"
#include "test_util.hpp"

namespace inkwell_test {

struct Contexts {
    inkwell_context* cuda = nullptr;
    inkwell_context* cpu = nullptr;
    static Contexts& get() {
        static Contexts c;
        return c;
    }
};

inline inkwell_context* cuda_ctx() { return Contexts::get().cuda; }
inline inkwell_context* cpu_ctx() { return Contexts::get().cpu; }

// Device memory of the CUDA context, freed on scope exit.
template <class T>
class DeviceBuffer {
public:
    explicit DeviceBuffer(size_t count) : count_(count) {
        if (count == 0) return;
        const int32_t st = inkwell_device_alloc(cuda_ctx(), int64_t(count * sizeof(T)), &ptr_);
        if (st != INKWELL_OK) {
            std::printf("  device_alloc(%zu bytes) failed: %s\n", count * sizeof(T), inkwell_last_error_message());
            ++Registry::get().failures_in_current;
            ptr_ = nullptr;
        }
    }
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
    ~DeviceBuffer() { inkwell_device_free(cuda_ctx(), ptr_); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    T* get() const { return static_cast<T*>(ptr_); }
    void upload(const std::vector<T>& host) {
        if (ptr_ == nullptr) return;
        CHECK(inkwell_copy(cuda_ctx(), ptr_, host.data(), int64_t(host.size() * sizeof(T)), INKWELL_COPY_HOST_TO_DEVICE) ==
              INKWELL_OK);
    }
    std::vector<T> download() const {
        std::vector<T> host(count_);
        if (ptr_ != nullptr)
            CHECK(inkwell_copy(cuda_ctx(), host.data(), ptr_, int64_t(count_ * sizeof(T)), INKWELL_COPY_DEVICE_TO_HOST) ==
                  INKWELL_OK);
        return host;
    }

private:
    void* ptr_ = nullptr;
    size_t count_;
};

inline int run_cuda_tests() {
    inkwell_context_options o{INKWELL_DEVICE_CUDA, 0, 0};
    const int32_t st = inkwell_context_create(&o, &Contexts::get().cuda);
    if (st != INKWELL_OK) {
        const char* require = std::getenv("INKWELL_REQUIRE_CUDA");
        if (require != nullptr && std::strcmp(require, "1") == 0) {
            std::printf("FAIL: INKWELL_REQUIRE_CUDA=1 but no CUDA context: %s: %s\n", inkwell_status_name(st),
                        inkwell_last_error_message());
            return 1;
        }
        std::printf("SKIP: no CUDA context (%s: %s)\n", inkwell_status_name(st), inkwell_last_error_message());
        return 77;
    }
    inkwell_context_options c{INKWELL_DEVICE_CPU, 0, 0};
    if (inkwell_context_create(&c, &Contexts::get().cpu) != INKWELL_OK) {
        std::printf("FAIL: CPU context: %s\n", inkwell_last_error_message());
        return 1;
    }
    const int result = run_all();
    inkwell_context_destroy(Contexts::get().cuda);
    inkwell_context_destroy(Contexts::get().cpu);
    return result;
}

}  // namespace inkwell_test
