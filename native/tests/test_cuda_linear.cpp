// Linear and GEGLU on a CUDA context against a CPU context through the C ABI: odd shapes (not
// multiples of the 64 x 64 tile or of the K step of 16: sizes 1, 7, 17, 97, 257, 1021), every
// activation, with and without bias, Stable Diffusion's shapes, more tiles than the grid
// (grid-stride), NaN and infinities, in float32, float16 and bfloat16, and the same argument
// errors as the CPU.
//
// Tolerance: each backend's float32 result is within delta of the exact value (computed here
// in double), delta = gamma(K + 1) S for the sum (S = sum |x_k w_k| + |b|, any order, FMA or
// not), times 1.13 plus 8u (|pre| + |act|) through an activation (both backends' expf/erff/
// tanhf are within 2 ulp), and the product rule for GEGLU (see test_linear.cpp). So the two
// differ by at most 2 delta; a 16-bit output adds one rounding on each side (half a spacing
// each, at most u16 |value|, and f16's subnormal floor).
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "cuda_test_util.hpp"
#include "half_test_util.hpp"

using namespace inkwell_test;

namespace {

constexpr double kU = 1.0 / (1 << 24);

double gamma(double n) { return n * kU / (1 - n * kU); }

double activation_value(int32_t a, double x) {
    switch (a) {
        case INKWELL_ACTIVATION_SILU: return x / (1.0 + std::exp(-x));
        case INKWELL_ACTIVATION_GELU: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case INKWELL_ACTIVATION_GELU_TANH:
            return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        case INKWELL_ACTIVATION_QUICK_GELU: return x / (1.0 + std::exp(-1.702 * x));
        case INKWELL_ACTIVATION_RELU: return x > 0.0 ? x : (x != x ? x : 0.0);
        default: return x;
    }
}

struct Sum {
    double value, delta;
};

Sum exact_sum(const std::vector<float>& x, const std::vector<float>& w, const float* bias, int64_t k_len, int64_t m,
              int64_t n) {
    double sum = 0, magnitude = 0;
    for (int64_t k = 0; k < k_len; ++k) {
        const double t = double(x[size_t(m * k_len + k)]) * w[size_t(n * k_len + k)];
        sum += t;
        magnitude += std::fabs(t);
    }
    if (bias != nullptr) {
        sum += bias[n];
        magnitude += std::fabs(double(bias[n]));
    }
    return {sum, gamma(double(k_len + 1)) * magnitude + std::ldexp(magnitude, -40) + 1e-30};
}

Sum activate(int32_t a, Sum s) {
    if (a == INKWELL_ACTIVATION_NONE) return s;
    const double v = activation_value(a, s.value);
    return {v, 1.13 * s.delta + 8 * kU * (std::fabs(s.value) + std::fabs(v))};
}

// One case of either kernel (inner > 0: GEGLU with that inner_dim, else linear with n outputs).
struct Case {
    int64_t m, k, n;
    int32_t activation;
    bool bias;
    bool geglu;
};

std::string name_of(const Case& c) {
    char s[120];
    std::snprintf(s, sizeof s, "%s [%lld,%lld]->%lld act %d%s", c.geglu ? "geglu" : "linear", (long long)c.m,
                  (long long)c.k, (long long)c.n, c.activation, c.bias ? "" : " no-bias");
    return s;
}

int64_t weight_rows(const Case& c) { return c.geglu ? 2 * c.n : c.n; }

// The bound delta on each backend's float32 error, per output.
std::vector<double> bounds(const Case& c, const std::vector<float>& x, const std::vector<float>& w,
                           const std::vector<float>& b) {
    const float* bias = c.bias ? b.data() : nullptr;
    std::vector<double> delta;
    delta.reserve(size_t(c.m * c.n));
    for (int64_t m = 0; m < c.m; ++m)
        for (int64_t n = 0; n < c.n; ++n) {
            if (!c.geglu) {
                delta.push_back(activate(c.activation, exact_sum(x, w, bias, c.k, m, n)).delta);
                continue;
            }
            const Sum a = exact_sum(x, w, bias, c.k, m, n);
            const Sum g = activate(INKWELL_ACTIVATION_GELU, exact_sum(x, w, bias, c.k, m, c.n + n));
            delta.push_back(a.delta * (std::fabs(g.value) + g.delta) + (std::fabs(a.value) + a.delta) * g.delta +
                            kU * std::fabs(a.value * g.value));
        }
    return delta;
}

// Runs the case's entry of `type` on ctx with buffers of element type T.
template <class T>
int32_t run(inkwell_context* ctx, int32_t type, const Case& c, const T* x, const T* w, const T* b, T* y) {
    if (c.geglu) {
        const inkwell_geglu_params p{x, w, c.bias ? b : nullptr, y, c.m, c.k, c.n};
        if (type == INKWELL_ELEMENT_F16) return inkwell_geglu_f16(ctx, &p);
        if (type == INKWELL_ELEMENT_BF16) return inkwell_geglu_bf16(ctx, &p);
        return inkwell_geglu_f32(ctx, &p);
    }
    const inkwell_linear_params p{x, w, c.bias ? b : nullptr, y, c.m, c.k, c.n, c.activation};
    if (type == INKWELL_ELEMENT_F16) return inkwell_linear_f16(ctx, &p);
    if (type == INKWELL_ELEMENT_BF16) return inkwell_linear_bf16(ctx, &p);
    return inkwell_linear_f32(ctx, &p);
}

// The CPU's and the GPU's outputs (as floats) agree: both NaN, the same infinity, or within
// tol(i, cpu, gpu). Returns the mismatches, printing the first five.
template <class Tol>
int64_t compare(const std::vector<float>& cpu, const std::vector<float>& gpu, Tol tol, const std::string& what) {
    int64_t bad = 0;
    for (size_t i = 0; i < cpu.size(); ++i) {
        const float a = cpu[i], g = gpu[i];
        bool ok;
        if (std::isnan(a) || std::isnan(g)) ok = std::isnan(a) && std::isnan(g);
        else if (std::isinf(a) || std::isinf(g)) ok = a == g;
        else ok = std::fabs(double(a) - g) <= tol(i, a, g);
        if (!ok && bad++ < 5)
            std::printf("    %s: output %zu: cpu %.9g gpu %.9g tolerance %.3g\n", what.c_str(), i, double(a), double(g),
                        tol(i, a, g));
    }
    return bad;
}

struct Data {
    std::vector<float> x, w, b;
};

Data random_tensors(std::mt19937& rng, const Case& c) {
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    Data d{std::vector<float>(size_t(c.m * c.k)), std::vector<float>(size_t(weight_rows(c) * c.k)),
           std::vector<float>(size_t(weight_rows(c)))};
    for (float& v : d.x) v = 2 * unit(rng);
    for (float& v : d.w) v = unit(rng) / std::sqrt(float(c.k));
    for (float& v : d.b) v = unit(rng);
    return d;
}

void check_f32(const Case& c, const Data& d) {
    const std::string what = name_of(c) + " f32";
    std::vector<float> cpu(size_t(c.m * c.n), NAN);
    CHECK_MSG(run(cpu_ctx(), INKWELL_ELEMENT_F32, c, d.x.data(), d.w.data(), d.b.data(), cpu.data()) == INKWELL_OK,
              "%s cpu: %s", what.c_str(), inkwell_last_error_message());
    DeviceBuffer<float> dx(d.x), dw(d.w), db(d.b), dy(std::vector<float>(cpu.size(), 123.0f));
    CHECK_MSG(run(cuda_ctx(), INKWELL_ELEMENT_F32, c, dx.get(), dw.get(), db.get(), dy.get()) == INKWELL_OK,
              "%s cuda: %s", what.c_str(), inkwell_last_error_message());
    const std::vector<double> delta = bounds(c, d.x, d.w, d.b);
    const int64_t bad = compare(cpu, dy.download(), [&](size_t i, float, float) { return 2 * delta[i]; }, what);
    CHECK_MSG(bad == 0, "%s: %lld outputs differ", what.c_str(), (long long)bad);
}

// The same case in a 16-bit type: inputs rounded to it (the float copies become the exact
// widenings the bound is computed on), both backends' outputs widened for the comparison;
// the GPU runs twice for identical bits.
void check_16(const Case& c, Data d, int32_t type) {
    const std::string what = name_of(c) + " " + type_name(type);
    const std::vector<uint16_t> hx = to_bits(type, d.x), hw = to_bits(type, d.w), hb = to_bits(type, d.b);
    std::vector<uint16_t> cpu(size_t(c.m * c.n), 0xffff);
    CHECK_MSG(run(cpu_ctx(), type, c, hx.data(), hw.data(), hb.data(), cpu.data()) == INKWELL_OK, "%s cpu: %s",
              what.c_str(), inkwell_last_error_message());
    DeviceBuffer<uint16_t> dx(hx), dw(hw), db(hb), dy(cpu.size());
    CHECK_MSG(run(cuda_ctx(), type, c, dx.get(), dw.get(), db.get(), dy.get()) == INKWELL_OK, "%s cuda: %s",
              what.c_str(), inkwell_last_error_message());
    const std::vector<uint16_t> first = dy.download();
    CHECK(run(cuda_ctx(), type, c, dx.get(), dw.get(), db.get(), dy.get()) == INKWELL_OK);
    CHECK_MSG(dy.download() == first, "%s: two runs differ", what.c_str());
    const std::vector<double> delta = bounds(c, d.x, d.w, d.b);
    const double u16 = unit_roundoff(type), floor16 = subnormal_floor(type);
    const int64_t bad = compare(
        widen_all(type, cpu), widen_all(type, first),
        [&](size_t i, float a, float g) {
            return 2 * delta[i] + 2 * u16 * std::max(std::fabs(double(a)), std::fabs(double(g))) + 2 * floor16;
        },
        what);
    CHECK_MSG(bad == 0, "%s: %lld outputs differ", what.c_str(), (long long)bad);
}

const Case kCases[] = {
    {1, 1, 1, INKWELL_ACTIVATION_NONE, true, false},
    {7, 17, 97, INKWELL_ACTIVATION_SILU, true, false},
    {97, 1, 17, INKWELL_ACTIVATION_GELU, false, false},  // K = 1
    {17, 257, 1, INKWELL_ACTIVATION_GELU_TANH, true, false},  // N = 1
    {257, 97, 65, INKWELL_ACTIVATION_QUICK_GELU, true, false},
    {65, 1021, 63, INKWELL_ACTIVATION_RELU, false, false},
    {1, 320, 1280, INKWELL_ACTIVATION_SILU, true, false},  // one row
    {154, 768, 320, INKWELL_ACTIVATION_NONE, false, false},
    {1, 1, 1, INKWELL_ACTIVATION_NONE, true, true},
    {17, 97, 33, INKWELL_ACTIVATION_NONE, true, true},
    {130, 320, 129, INKWELL_ACTIVATION_NONE, false, true},
    {3, 1021, 40, INKWELL_ACTIVATION_NONE, true, true},
};

}  // namespace

TEST(cuda_linear_and_geglu_match_cpu_in_f32) {
    std::mt19937 rng(41);
    for (const Case& c : kCases) check_f32(c, random_tensors(rng, c));
    for (int32_t a = INKWELL_ACTIVATION_NONE; a <= INKWELL_ACTIVATION_RELU; ++a)
        for (bool bias : {false, true}) {
            const Case c{33, 70, 45, a, bias, false};
            check_f32(c, random_tensors(rng, c));
        }
}

TEST(cuda_linear_and_geglu_match_cpu_in_16_bit) {
    std::mt19937 rng(43);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16})
        for (const Case& c : kCases) check_16(c, random_tensors(rng, c), type);
}

TEST(cuda_linear_and_geglu_match_cpu_on_sd_shapes_and_more_tiles_than_the_grid) {
    std::mt19937 rng(47);
    const Case sd[] = {
        {1024, 320, 320, INKWELL_ACTIVATION_NONE, true, false},  // attention projection
        {512, 320, 1280, INKWELL_ACTIVATION_NONE, true, true},   // feed-forward GEGLU
        {256, 1280, 320, INKWELL_ACTIVATION_NONE, true, false},  // feed-forward out
        {8192, 16, 1000, INKWELL_ACTIVATION_GELU, true, false},  // 2048 tiles: grid-strided
    };
    for (const Case& c : sd) {
        const Data d = random_tensors(rng, c);
        check_f32(c, d);
        if (!sanitizer_run()) check_16(c, d, INKWELL_ELEMENT_BF16);
    }
}

TEST(cuda_linear_propagates_nan_and_infinity_like_the_cpu) {
    std::mt19937 rng(53);
    for (int32_t a = INKWELL_ACTIVATION_NONE; a <= INKWELL_ACTIVATION_RELU; ++a) {
        const Case c{20, 30, 40, a, true, false};
        Data d = random_tensors(rng, c);
        d.x[3 * 30 + 4] = NAN;
        d.x[5 * 30 + 7] = INFINITY;
        d.x[6 * 30 + 7] = -INFINITY;
        d.w[9 * 30 + 7] = 0.0f;  // inf * 0 in rows 5 and 6, column 9
        d.b[11] = NAN;
        check_f32(c, d);
    }
    const Case g{9, 20, 13, INKWELL_ACTIVATION_NONE, true, true};
    Data d = random_tensors(rng, g);
    d.x[2 * 20 + 4] = NAN;
    d.w[15 * 20 + 3] = INFINITY;  // the gate of column 2
    check_f32(g, d);
}

TEST(cuda_linear_rejects_what_the_cpu_rejects) {
    DeviceBuffer<float> x(12), w(40), b(10), y(30);
    inkwell_linear_params p{x.get(), w.get(), b.get(), y.get(), 3, 4, 10, INKWELL_ACTIVATION_NONE};
    CHECK(inkwell_linear_f32(cuda_ctx(), &p) == INKWELL_OK);
    p.activation = 6;
    CHECK(inkwell_linear_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "linear: activation must be 0..5") != nullptr);
    p.activation = INKWELL_ACTIVATION_NONE;
    p.output = x.get();
    CHECK(inkwell_linear_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "linear: output overlaps input") != nullptr);
    p.output = y.get();
    p.rows = 0;
    CHECK(inkwell_linear_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.rows = 3;
    std::vector<float> host(30);
    p.output = host.data();  // a host pointer on a CUDA context
    CHECK(inkwell_linear_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "linear: output") != nullptr);
    inkwell_geglu_params g{x.get(), w.get(), b.get(), y.get(), 3, 4, 5};
    CHECK(inkwell_geglu_f32(cuda_ctx(), &g) == INKWELL_OK);
    g.inner_dim = 0;
    CHECK(inkwell_geglu_f32(cuda_ctx(), &g) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "geglu: inner_dim must be >= 1, got 0") != nullptr);
    g.inner_dim = 5;
    g.output = w.get();
    CHECK(inkwell_geglu_bf16(cuda_ctx(), &g) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "geglu: output overlaps weight") != nullptr);
}
