// The CUDA context and its memory entries: device info, alloc/copy round trips in every
// direction, pinned memory, argument checks, and kernels refusing host-only families.
#include "cuda_test_util.hpp"

using namespace inkwell_test;

TEST(cuda_context_reports_its_device) {
    int32_t device = -1, index = -1, count = 0;
    CHECK(inkwell_context_device(cuda_ctx(), &device, &index) == INKWELL_OK);
    CHECK(device == INKWELL_DEVICE_CUDA && index == 0);
    CHECK(inkwell_cuda_device_count(&count) == INKWELL_OK && count >= 1);
    inkwell_context* none = nullptr;
    inkwell_context_options o{INKWELL_DEVICE_CUDA, 0, 4096};
    CHECK(inkwell_context_create(&o, &none) == INKWELL_INVALID_ARGUMENT && none == nullptr);
}

TEST(cuda_copies_round_trip) {
    const int64_t n = 1 << 20 | 13;
    std::vector<uint8_t> host(n), back(n, 0);
    for (int64_t i = 0; i < n; ++i) host[i] = uint8_t(i * 131 + 7);
    void *a = nullptr, *b = nullptr, *pinned = nullptr;
    CHECK(inkwell_device_alloc(cuda_ctx(), n, &a) == INKWELL_OK && a != nullptr);
    CHECK(inkwell_device_alloc(cuda_ctx(), n, &b) == INKWELL_OK && b != nullptr);
    CHECK(inkwell_host_alloc_pinned(cuda_ctx(), n, &pinned) == INKWELL_OK && pinned != nullptr);
    CHECK(inkwell_copy(cuda_ctx(), a, host.data(), n, INKWELL_COPY_HOST_TO_DEVICE) == INKWELL_OK);
    CHECK(inkwell_copy(cuda_ctx(), b, a, n, INKWELL_COPY_DEVICE_TO_DEVICE) == INKWELL_OK);
    CHECK(inkwell_copy(cuda_ctx(), pinned, b, n, INKWELL_COPY_DEVICE_TO_HOST) == INKWELL_OK);
    CHECK(inkwell_copy(cuda_ctx(), back.data(), pinned, n, INKWELL_COPY_DEFAULT) == INKWELL_OK);
    CHECK(back == host);
    CHECK(inkwell_context_synchronize(cuda_ctx()) == INKWELL_OK);
    CHECK(inkwell_copy(cuda_ctx(), a, b, 0, INKWELL_COPY_DEVICE_TO_DEVICE) == INKWELL_OK);
    CHECK(inkwell_copy(cuda_ctx(), a, b, n, 9) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_copy(cuda_ctx(), a, a, n, INKWELL_COPY_DEVICE_TO_DEVICE) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_device_free(cuda_ctx(), a) == INKWELL_OK);
    CHECK(inkwell_device_free(cuda_ctx(), b) == INKWELL_OK);
    CHECK(inkwell_host_free_pinned(cuda_ctx(), pinned) == INKWELL_OK);
    CHECK(inkwell_device_free(cuda_ctx(), nullptr) == INKWELL_OK);
    void* p = nullptr;
    CHECK(inkwell_device_alloc(cuda_ctx(), 0, &p) == INKWELL_INVALID_ARGUMENT && p == nullptr);
    CHECK(inkwell_device_alloc(cuda_ctx(), int64_t(1) << 45, &p) == INKWELL_OUT_OF_MEMORY);
    CHECK(std::strstr(inkwell_last_error_message(), "cudaMalloc") != nullptr);
}

TEST(cuda_context_refuses_kernels_it_lacks) {
    float x = 0;
    inkwell_randn_params p{&x, 1, 1, 0};
    CHECK(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_UNSUPPORTED);
    CHECK(std::strstr(inkwell_last_error_message(), "randn") != nullptr);
}
