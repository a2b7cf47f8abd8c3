// The element-wise and plumbing kernels on a CUDA context against a CPU context:
//   add, cat, transpose, max_pool2d   the same bits (a NaN equals any NaN: payloads are not
//                                     part of the contract), on awkward shapes with NaN,
//                                     infinities and signed zeros; add in place
//   activation (f32, f16, bf16)       within a derived bound: CUDA's expf/erff/tanhf are
//                                     within 2 ulp, glibc's within 1, and the formulas add a
//                                     few roundings, so |gpu - cpu| <= 8 eps (|cpu| + |x| / 2)
//                                     (the |x| / 2 term: gelu's 0.5 x (1 + erf) multiplies the
//                                     absolute error of erf, ~eps, by x / 2); a 16-bit output
//                                     may also round to the neighbouring 16-bit value
//   timestep_embedding                both compute the same double frequencies and round
//                                     sin/cos once; CUDA's double sin/cos are within 2 ulp of
//                                     double, so outputs differ by at most one float ulp
//                                     (2^-24 below 1)
// plus the 64-bit index paths (tensors past 2^31 elements) of add and cat, checked on
// samples, and the refusals (non-finite timesteps are checked on the device's copy).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "cuda_test_util.hpp"
#include "half_test_util.hpp"

using namespace inkwell_test;

namespace {

bool same_value(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

// Count of differing outputs; prints the first five.
int64_t count_different(const std::vector<float>& gpu, const std::vector<float>& cpu, const char* what) {
    int64_t bad = 0;
    for (size_t i = 0; i < gpu.size(); ++i)
        if (!same_value(gpu[i], cpu[i]) && bad++ < 5)
            std::printf("    %s output %zu: cuda %.9g cpu %.9g\n", what, i, double(gpu[i]), double(cpu[i]));
    return bad;
}

std::vector<float> random_floats(std::mt19937& rng, int64_t n, bool specials) {
    std::normal_distribution<float> normal(0.0f, 3.0f);
    const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, 3e38f, -3e38f};
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = specials && rng() % 13 == 0 ? special[rng() % std::size(special)] : normal(rng);
    return v;
}

}  // namespace

// ---- exact kernels -----------------------------------------------------------------------

TEST(cuda_add_matches_cpu_bit_for_bit) {
    std::mt19937 rng(31);
    struct Case {
        int64_t count, b_count, inner;
    };
    const Case cases[] = {{1, 1, 1},           {97, 97, 1},        {2 * 320 * 4096, 640, 4096}, {2 * 320 * 4096, 320, 4096},
                          {3 * 1021, 1021, 1}, {1021 * 6, 1, 1},   {257 * 10, 5, 257},          {1000003, 1, 1000003},
                          {7 * 3 * 9, 3, 9}};
    for (const Case& c : cases)
        for (bool in_place : {false, true}) {
            const auto a = random_floats(rng, c.count, true), b = random_floats(rng, c.b_count, true);
            std::vector<float> cpu_out(a.size(), -7.0f);
            inkwell_add_params p{a.data(), b.data(), cpu_out.data(), c.count, c.b_count, c.inner};
            CHECK_MSG(inkwell_add_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());
            DeviceBuffer<float> da(a), db(b), dout(std::vector<float>(a.size(), -7.0f));
            p.a = da.get();
            p.b = db.get();
            p.out = in_place ? da.get() : dout.get();
            CHECK_MSG(inkwell_add_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
            const auto gpu = in_place ? da.download() : dout.download();
            CHECK_MSG(count_different(gpu, cpu_out, "add") == 0, "add count %lld b_count %lld inner %lld%s", (long long)c.count,
                      (long long)c.b_count, (long long)c.inner, in_place ? " in place" : "");
        }
}

TEST(cuda_cat_matches_cpu_bit_for_bit) {
    std::mt19937 rng(37);
    const int64_t cases[][3] = {{1, 1, 1}, {2, 320 * 4096, 320 * 4096}, {97, 1, 3}, {100003, 1, 1}, {257, 1021, 17}, {2, 1280 * 64, 640 * 64}};
    for (auto& c : cases) {
        const auto a = random_floats(rng, c[0] * c[1], true), b = random_floats(rng, c[0] * c[2], true);
        std::vector<float> cpu_out(static_cast<size_t>(c[0] * (c[1] + c[2])), -7.0f);
        inkwell_cat_params p{a.data(), b.data(), cpu_out.data(), c[0], c[1], c[2]};
        CHECK(inkwell_cat_f32(cpu_ctx(), &p) == INKWELL_OK);
        DeviceBuffer<float> da(a), db(b), dout(cpu_out.size());
        p.a = da.get();
        p.b = db.get();
        p.out = dout.get();
        CHECK_MSG(inkwell_cat_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
        CHECK_MSG(count_different(dout.download(), cpu_out, "cat") == 0, "cat outer %lld a_inner %lld b_inner %lld", (long long)c[0],
                  (long long)c[1], (long long)c[2]);
    }
}

TEST(cuda_transpose_matches_cpu_bit_for_bit) {
    std::mt19937 rng(41);
    const int64_t shapes[][5] = {{1, 1, 1, 1, 1},  {2, 320, 1, 4096, 1}, {2, 4096, 1, 320, 1}, {1, 97, 1, 257, 1}, {3, 33, 5, 31, 1},
                                 {2, 7, 5, 11, 3}, {1, 40, 1, 77, 64},   {5, 1, 7, 9, 1},      {1, 1021, 1, 1, 1}, {1, 1, 3, 1021, 2},
                                 {70000, 2, 1, 3, 1}};
    for (auto& s : shapes) {
        const auto in = random_floats(rng, s[0] * s[1] * s[2] * s[3] * s[4], true);
        std::vector<float> cpu_out(in.size(), -7.0f);
        inkwell_transpose_params p{in.data(), cpu_out.data(), s[0], s[1], s[2], s[3], s[4]};
        CHECK(inkwell_transpose_f32(cpu_ctx(), &p) == INKWELL_OK);
        DeviceBuffer<float> din(in), dout(in.size());
        p.input = din.get();
        p.output = dout.get();
        CHECK_MSG(inkwell_transpose_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
        CHECK_MSG(count_different(dout.download(), cpu_out, "transpose") == 0, "transpose [%lld, %lld, %lld, %lld, %lld]",
                  (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3], (long long)s[4]);
    }
}

TEST(cuda_max_pool2d_matches_cpu_bit_for_bit) {
    std::mt19937 rng(43);
    struct Pool {
        int64_t kh, kw, sh, sw, ph, pw;
    };
    const Pool pools[] = {{3, 3, 2, 2, 0, 0}, {2, 2, 2, 2, 0, 0}, {3, 3, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0},
                          {3, 3, 2, 2, 1, 1}, {2, 3, 1, 2, 1, 1}, {5, 4, 3, 1, 2, 2}, {7, 7, 7, 7, 3, 0}};
    const int64_t shapes[][4] = {{1, 1, 7, 7}, {2, 64, 55, 55}, {2, 5, 13, 17}, {1, 2, 97, 31}, {1, 1, 9, 257}, {1, 1, 1021, 7}};
    for (auto& s : shapes)
        for (const Pool& k : pools) {
            const int64_t oh = (s[2] + 2 * k.ph - k.kh) / k.sh + 1, ow = (s[3] + 2 * k.pw - k.kw) / k.sw + 1;
            const auto in = random_floats(rng, s[0] * s[1] * s[2] * s[3], true);
            std::vector<float> cpu_out(static_cast<size_t>(s[0] * s[1] * oh * ow), -7.0f);
            inkwell_max_pool2d_params p{in.data(), cpu_out.data(), s[0], s[1], s[2], s[3], k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, oh, ow};
            CHECK_MSG(inkwell_max_pool2d_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());
            DeviceBuffer<float> din(in), dout(cpu_out.size());
            p.input = din.get();
            p.output = dout.get();
            CHECK_MSG(inkwell_max_pool2d_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
            CHECK_MSG(count_different(dout.download(), cpu_out, "max_pool2d") == 0,
                      "max_pool2d [%lld,%lld,%lld,%lld] kernel %lldx%lld stride %lldx%lld pad %lldx%lld", (long long)s[0],
                      (long long)s[1], (long long)s[2], (long long)s[3], (long long)k.kh, (long long)k.kw, (long long)k.sh,
                      (long long)k.sw, (long long)k.ph, (long long)k.pw);
        }
    // Signed zeros: the first of equal zeros stays, as on the CPU (and in torch).
    const std::vector<float> zeros = {-0.0f, 0.0f, 0.0f, 0.0f};
    DeviceBuffer<float> din(zeros), dout(1);
    inkwell_max_pool2d_params p{din.get(), dout.get(), 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1};
    CHECK(inkwell_max_pool2d_f32(cuda_ctx(), &p) == INKWELL_OK);
    CHECK(std::signbit(dout.download()[0]));
}

// ---- 64-bit index paths ------------------------------------------------------------------

namespace {

// A device buffer of n floats set to value(i) = float(i % 4093) - 2000, uploaded in pieces;
// nullptr (and a note) when the device has no room.
void* big_buffer(int64_t n) {
    void* p = nullptr;
    if (inkwell_device_alloc(cuda_ctx(), n * int64_t(sizeof(float)), &p) != INKWELL_OK) {
        std::printf("  note: %lld floats do not fit on this device (%s); the 64-bit path is not tested\n", (long long)n,
                    inkwell_last_error_message());
        return nullptr;
    }
    const int64_t piece = int64_t(1) << 24;
    std::vector<float> host(static_cast<size_t>(piece));
    for (int64_t begin = 0; begin < n; begin += piece) {
        const int64_t len = std::min(piece, n - begin);
        int64_t v = begin % 4093;  // counted, not divided: 2^31 modulos would take seconds
        for (int64_t i = 0; i < len; ++i, v = v == 4092 ? 0 : v + 1) host[size_t(i)] = float(v) - 2000.0f;
        CHECK(inkwell_copy(cuda_ctx(), static_cast<float*>(p) + begin, host.data(), len * int64_t(sizeof(float)),
                           INKWELL_COPY_HOST_TO_DEVICE) == INKWELL_OK);
    }
    return p;
}

float element_at(const void* device, int64_t i) {
    float v = 0;
    CHECK(inkwell_copy(cuda_ctx(), &v, static_cast<const float*>(device) + i, sizeof v, INKWELL_COPY_DEVICE_TO_HOST) == INKWELL_OK);
    return v;
}

// Indices to sample: both ends, around 2^31 and 2^32, and a stride through the middle.
std::vector<int64_t> samples(int64_t n) {
    std::vector<int64_t> s = {0, 1, n - 1, n - 2};
    for (int64_t c : {int64_t(1) << 31, int64_t(1) << 32})
        for (int64_t d = -3; d <= 3; ++d)
            if (c + d >= 0 && c + d < n) s.push_back(c + d);
    for (int64_t i = 12345; i < n; i += n / 997) s.push_back(i);
    return s;
}

}  // namespace

TEST(cuda_add_and_cat_past_2_pow_31_elements) {
    const int64_t count = (int64_t(1) << 31) + 3 * 5 * 7 * 64;  // b_count 105 * inner 64 divides it
    void* a = big_buffer(count);
    if (a == nullptr) return;
    const std::vector<float> b_host = [] {
        std::vector<float> b(105);
        for (size_t j = 0; j < b.size(); ++j) b[j] = 0.25f * float(j);
        return b;
    }();
    DeviceBuffer<float> b(b_host);
    inkwell_add_params p{static_cast<float*>(a), b.get(), static_cast<float*>(a), count, 105, 64};  // in place
    CHECK_MSG(inkwell_add_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    int bad = 0;
    for (int64_t i : samples(count)) {
        const float want = (float(i % 4093) - 2000.0f) + b_host[size_t((i / 64) % 105)];
        if (element_at(a, i) != want && bad++ < 5) std::printf("    add[%lld] = %.9g, want %.9g\n", (long long)i, double(element_at(a, i)), double(want));
    }
    CHECK_MSG(bad == 0, "add past 2^31: %d samples wrong", bad);
    CHECK(inkwell_device_free(cuda_ctx(), a) == INKWELL_OK);

    // cat of [2, 2^30] and [2, 2^20 + 3]: 2^31 + 2^21 + 6 outputs.
    const int64_t a_inner = int64_t(1) << 30, b_inner = (int64_t(1) << 20) + 3;
    void* ca = big_buffer(2 * a_inner);
    void* cb = ca != nullptr ? big_buffer(2 * b_inner) : nullptr;
    void* out = nullptr;
    if (cb != nullptr && inkwell_device_alloc(cuda_ctx(), 2 * (a_inner + b_inner) * int64_t(sizeof(float)), &out) == INKWELL_OK) {
        inkwell_cat_params c{static_cast<float*>(ca), static_cast<float*>(cb), static_cast<float*>(out), 2, a_inner, b_inner};
        CHECK_MSG(inkwell_cat_f32(cuda_ctx(), &c) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
        bad = 0;
        const int64_t width = a_inner + b_inner;
        for (int64_t e : samples(2 * width)) {
            const int64_t row = e / width, col = e % width;
            const int64_t src = col < a_inner ? row * a_inner + col : row * b_inner + (col - a_inner);
            const float want = float(src % 4093) - 2000.0f;
            if (element_at(out, e) != want) ++bad;
        }
        CHECK_MSG(bad == 0, "cat past 2^31: %d samples wrong", bad);
    } else if (cb != nullptr) {
        std::printf("  note: no room for cat's output past 2^31 elements; not tested\n");
    }
    inkwell_device_free(cuda_ctx(), out);
    inkwell_device_free(cuda_ctx(), cb);
    inkwell_device_free(cuda_ctx(), ca);
}

// ---- activation and timestep_embedding (tolerances) ---------------------------------------

TEST(cuda_activation_within_derived_bounds) {
    std::mt19937 rng(47);
    const double eps = std::ldexp(1.0, -23);
    for (int32_t a = INKWELL_ACTIVATION_SILU; a <= INKWELL_ACTIVATION_RELU; ++a)
        for (int64_t n : {int64_t(1), int64_t(1021), int64_t(2) * 320 * 64 * 64 + 7}) {
            std::vector<float> x = random_floats(rng, n, true);
            for (int64_t i = 0; i < n && i < 40001; ++i) x[size_t(i)] = -20.0f + float(i) * 1e-3f;  // a fine grid first
            std::vector<float> cpu_out(x.size());
            inkwell_activation_params p{x.data(), cpu_out.data(), n, a};
            CHECK(inkwell_activation_f32(cpu_ctx(), &p) == INKWELL_OK);
            DeviceBuffer<float> dx(x), dout(x.size());
            p.input = dx.get();
            p.output = dout.get();
            CHECK_MSG(inkwell_activation_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
            const auto gpu = dout.download();
            p.output = dx.get();  // in place
            CHECK(inkwell_activation_f32(cuda_ctx(), &p) == INKWELL_OK);
            const auto gpu_in_place = dx.download();
            int64_t bad = 0, differ = 0;
            for (size_t i = 0; i < x.size(); ++i) {
                const double c = cpu_out[i], g = gpu[i];
                differ += !same_value(gpu[i], cpu_out[i]);
                const bool ok = same_value(gpu[i], cpu_out[i]) ||
                                (std::isfinite(c) && std::fabs(g - c) <= 8 * eps * (std::fabs(c) + 0.5 * std::fabs(double(x[i]))));
                if ((!ok || !same_value(gpu_in_place[i], gpu[i])) && bad++ < 5)
                    std::printf("    activation %d x %.9g: cuda %.9g cpu %.9g\n", a, double(x[i]), g, c);
            }
            CHECK_MSG(bad == 0, "activation %d n %lld: %lld outside the bound", a, (long long)n, (long long)bad);
            if (a == INKWELL_ACTIVATION_RELU) CHECK(differ == 0);  // no arithmetic: exact
        }
}

TEST(cuda_activation_16_bit_within_one_step_of_cpu) {
    std::mt19937 rng(53);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16})
        for (int32_t a = INKWELL_ACTIVATION_SILU; a <= INKWELL_ACTIVATION_RELU; ++a) {
            std::vector<float> x = random_floats(rng, 100003, false);
            const std::vector<uint16_t> bits = to_bits(type, x);
            std::vector<uint16_t> cpu_out(bits.size());
            inkwell_activation_params p{bits.data(), cpu_out.data(), int64_t(bits.size()), a};
            auto entry = type == INKWELL_ELEMENT_F16 ? inkwell_activation_f16 : inkwell_activation_bf16;
            CHECK(entry(cpu_ctx(), &p) == INKWELL_OK);
            DeviceBuffer<uint16_t> dx(bits), dout(bits.size());
            p.input = dx.get();
            p.output = dout.get();
            CHECK_MSG(entry(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
            const auto gpu = dout.download();
            // Same float bound as above, then one 16-bit step (the spacing at the value;
            // 2^-24 below f16's normal range).
            const double eps = std::ldexp(1.0, -23), step = type == INKWELL_ELEMENT_F16 ? std::ldexp(1.0, -10) : std::ldexp(1.0, -7);
            int64_t bad = 0;
            for (size_t i = 0; i < bits.size(); ++i) {
                const double c = widen16(type, cpu_out[i]), g = widen16(type, gpu[i]);
                const double bound = 8 * eps * (std::fabs(c) + 0.5 * std::fabs(double(x[i]))) + step * std::fabs(c) +
                                     (type == INKWELL_ELEMENT_F16 ? std::ldexp(1.0, -24) : 0.0);
                if (!(std::fabs(g - c) <= bound) && bad++ < 5)
                    std::printf("    %s activation %d x %.9g: cuda %.9g cpu %.9g\n", type == INKWELL_ELEMENT_F16 ? "f16" : "bf16",
                                a, double(x[i]), g, c);
            }
            CHECK_MSG(bad == 0, "type %d activation %d: %lld outside the bound", type, a, (long long)bad);
        }
}

TEST(cuda_timestep_embedding_within_one_ulp) {
    struct Case {
        int64_t dim;
        int32_t flip;
        double shift, scale, max_period;
    };
    const Case cases[] = {{1, 1, 0, 1, 10000}, {2, 0, 0, 1, 10000}, {7, 1, 0, 1, 10000}, {64, 0, 1, 1, 10000},
                          {320, 1, 0, 1, 10000}, {321, 0, 1, 1, 10000}, {1280, 1, 0, 1, 10000}, {32, 1, 0, 1000, 10000}};
    std::vector<float> t;
    for (int i = 0; i < 1000; ++i) t.push_back(float(i) * 1.001f);
    t.push_back(0.5f);
    t.push_back(250.25f);
    DeviceBuffer<float> dt(t);
    for (const Case& c : cases) {
        std::vector<float> cpu_out(t.size() * size_t(c.dim));
        inkwell_timestep_embedding_params p{t.data(), cpu_out.data(), int64_t(t.size()), c.dim, c.flip, c.shift, c.scale, c.max_period};
        CHECK(inkwell_timestep_embedding_f32(cpu_ctx(), &p) == INKWELL_OK);
        DeviceBuffer<float> dout(cpu_out.size());
        p.timesteps = dt.get();
        p.output = dout.get();
        CHECK_MSG(inkwell_timestep_embedding_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
        const auto gpu = dout.download();
        int64_t bad = 0, differ = 0;
        for (size_t i = 0; i < gpu.size(); ++i) {
            differ += gpu[i] != cpu_out[i];
            if (!(std::fabs(double(gpu[i]) - double(cpu_out[i])) <= std::ldexp(1.0, -24)) && bad++ < 5)
                std::printf("    dim %lld output %zu: cuda %.9g cpu %.9g\n", (long long)c.dim, i, double(gpu[i]), double(cpu_out[i]));
        }
        CHECK_MSG(bad == 0, "timestep_embedding dim %lld: %lld outputs more than one ulp off", (long long)c.dim, (long long)bad);
        std::printf("  dim %lld: %lld of %zu outputs not bit-identical\n", (long long)c.dim, (long long)differ, gpu.size());
    }
}

// ---- refusals ----------------------------------------------------------------------------

TEST(cuda_elementwise_rejects_what_the_cpu_rejects) {
    DeviceBuffer<float> t(std::vector<float>{1.0f, NAN, 3.0f}), out(3 * 8);
    inkwell_timestep_embedding_params p{t.get(), out.get(), 3, 8, 1, 0.0, 1.0, 10000.0};
    CHECK(inkwell_timestep_embedding_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    CHECK_MSG(std::strstr(inkwell_last_error_message(), "timestep_embedding: timesteps[1] must be finite, got nan") != nullptr,
              "message '%s'", inkwell_last_error_message());
    p.downscale_freq_shift = 4;  // half 4 - 4
    CHECK(inkwell_timestep_embedding_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);

    DeviceBuffer<float> a(24), b(6), o(24);
    inkwell_add_params ap{a.get(), b.get(), o.get(), 24, 5, 2};
    CHECK(inkwell_add_f32(cuda_ctx(), &ap) == INKWELL_INVALID_ARGUMENT);
    ap.b_count = 6;
    ap.out = a.get() + 1;
    CHECK(inkwell_add_f32(cuda_ctx(), &ap) == INKWELL_INVALID_ARGUMENT);

    inkwell_activation_params act{a.get(), o.get(), 24, INKWELL_ACTIVATION_NONE};
    CHECK(inkwell_activation_f32(cuda_ctx(), &act) == INKWELL_INVALID_ARGUMENT);
    std::vector<float> host(24);
    act.activation = INKWELL_ACTIVATION_SILU;
    act.input = host.data();  // a host pointer with a CUDA context
    CHECK(inkwell_activation_f32(cuda_ctx(), &act) == INKWELL_INVALID_ARGUMENT);

    inkwell_max_pool2d_params mp{a.get(), o.get(), 1, 1, 4, 6, 3, 3, 1, 1, 2, 0, 6, 4};  // pad 2 > 3 / 2
    CHECK(inkwell_max_pool2d_f32(cuda_ctx(), &mp) == INKWELL_INVALID_ARGUMENT);
    inkwell_transpose_params tp{a.get(), a.get(), 1, 4, 1, 6, 1};
    CHECK(inkwell_transpose_f32(cuda_ctx(), &tp) == INKWELL_INVALID_ARGUMENT);
    inkwell_cat_params cp{a.get(), b.get(), o.get(), 0, 3, 1};
    CHECK(inkwell_cat_f32(cuda_ctx(), &cp) == INKWELL_INVALID_ARGUMENT);
}
