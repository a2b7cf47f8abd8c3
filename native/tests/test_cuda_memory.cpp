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
    // The failed cudaMalloc must not be reported again by the next kernel's launch check.
    DeviceBuffer<float> out(5);
    inkwell_randn_params r{out.get(), 5, 3, 0};
    CHECK_MSG(inkwell_randn_f32(cuda_ctx(), &r) == INKWELL_OK, "after OOM: %s", inkwell_last_error_message());
}

// Every kernel family runs on a CUDA context now; a data pointer that is not memory of the
// context's device is refused by the backend (cudaPointerGetAttributes) with
// INKWELL_INVALID_ARGUMENT naming the pointer, before any kernel could fault on it and leave
// the process's CUDA context broken. The context keeps working afterwards.
TEST(cuda_context_refuses_host_pointers) {
    std::vector<float> host(8, 5.0f);
    inkwell_randn_params p{host.data(), 8, 1, 0};
    CHECK(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    CHECK_MSG(std::strstr(inkwell_last_error_message(), "randn: out") != nullptr, "%s", inkwell_last_error_message());
    CHECK(host == std::vector<float>(8, 5.0f));

    // One good pointer and one host pointer: the host one is named.
    DeviceBuffer<float> x(std::vector<float>(16, 1.0f)), out(16);
    std::vector<float> noise(16, 0.5f);
    inkwell_add_noise_params a{x.get(), noise.data(), out.get(), 16, 0.5};
    CHECK(inkwell_add_noise_f32(cuda_ctx(), &a) == INKWELL_INVALID_ARGUMENT);
    CHECK_MSG(std::strstr(inkwell_last_error_message(), "add_noise: noise") != nullptr, "%s",
              inkwell_last_error_message());

    std::vector<uint8_t> img(16 * 16, 9);
    inkwell_image_metric_params m{};
    DeviceBuffer<uint8_t> ref(img);
    m.reference = inkwell_image_u8{ref.get(), 16, 16, 1, 16};
    m.test = inkwell_image_u8{img.data(), 16, 16, 1, 16};
    double result = 0;
    m.result = &result;
    CHECK(inkwell_psnr_u8(cuda_ctx(), &m) == INKWELL_INVALID_ARGUMENT);
    CHECK_MSG(std::strstr(inkwell_last_error_message(), "psnr: test.data") != nullptr, "%s",
              inkwell_last_error_message());

    // Still usable: the same randn into device memory, and into mapped pinned memory.
    DeviceBuffer<float> dev(8);
    p.out = dev.get();
    CHECK_MSG(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_OK, "%s", inkwell_last_error_message());
    std::vector<float> want(8);
    inkwell_randn_params q{want.data(), 8, 1, 0};
    CHECK(inkwell_randn_f32(cpu_ctx(), &q) == INKWELL_OK);
    CHECK(dev.download() == want);
    void* pinned = nullptr;
    CHECK(inkwell_host_alloc_pinned(cuda_ctx(), 8 * sizeof(float), &pinned) == INKWELL_OK);
    p.out = static_cast<float*>(pinned);
    CHECK_MSG(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_OK, "pinned: %s", inkwell_last_error_message());
    CHECK(std::memcmp(pinned, want.data(), 8 * sizeof(float)) == 0);
    CHECK(inkwell_host_free_pinned(cuda_ctx(), pinned) == INKWELL_OK);
}
