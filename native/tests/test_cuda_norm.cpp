// GroupNorm and LayerNorm on a CUDA context against a CPU context, f32, f16 and bf16, on
// shapes that reach every kernel path (a warp per segment, a block per segment, segments
// sliced across blocks), every activation, with and without weight and bias, mean offsets
// of 1e4, constant groups (eps 0: NaN on both), NaN and infinity propagation, and the same
// argument errors as the CPU (plus host pointers, which a CUDA context refuses).
//
// Tolerance, derived from the two error models (u = 2^-24). The CPU's statistics are in
// double, its normalisation errs by ~4u |t| (t = (x - mean) rstd). The GPU sums x - k
// (k the segment's first element) and d^2 in float, Kahan per thread and a tree of at most
// ~10 levels: its mean errs by ~16u (|mean - k| + std), its rstd by ~10u, so t by ~13u |t|
// plus 16u (|mean - k| + std) rstd. So per output, before the activation:
//   2 (|w| (20u |t| + 16u (|mean - k| + std) rstd) + 2u |y|) + 1e-30,
// and after one: 1.2 times that (slopes below 1.2) + 8u (|act| + |y|) for the float formulas
// (CUDA's expf/erff/tanhf are within 2 ulp). 16-bit outputs: both sides round the float
// result once, so add two spacings of the 16-bit type at |y|.
#include <cmath>
#include <cstring>
#include <random>

#include "cuda_test_util.hpp"
#include "half_test_util.hpp"

using namespace inkwell_test;

namespace {

constexpr double kU = 1.0 / (1 << 24);

struct Problem {
    bool group;
    int64_t batch, channels, spatial, groups;  // group_norm
    int64_t rows, dim;                         // layer_norm
    int32_t activation;
    bool weight, bias;
    double eps;
    int64_t segments() const { return group ? batch * groups : rows; }
    int64_t length() const { return group ? channels / groups * spatial : dim; }
    int64_t count() const { return segments() * length(); }
    int64_t affine_count() const { return group ? channels : dim; }
    int64_t affine_index(int64_t s, int64_t i) const {
        return group ? (s % groups) * (channels / groups) + i / spatial : i;
    }
};

Problem group_problem(int64_t n, int64_t c, int64_t s, int64_t g, int32_t act, bool w = true, bool b = true, double eps = 1e-5) {
    return Problem{true, n, c, s, g, 0, 0, act, w, b, eps};
}
Problem layer_problem(int64_t rows, int64_t dim, bool w = true, bool b = true, double eps = 1e-5) {
    return Problem{false, 0, 0, 0, 0, rows, dim, INKWELL_ACTIVATION_NONE, w, b, eps};
}

// Tensors as floats exactly representable in the element type, and their bytes.
struct Host {
    std::vector<float> x, w, b;
};

std::vector<uint8_t> bytes_of(int32_t type, std::vector<float>& v) {
    if (type == INKWELL_ELEMENT_F32) {
        std::vector<uint8_t> raw(v.size() * 4);
        std::memcpy(raw.data(), v.data(), raw.size());
        return raw;
    }
    const std::vector<uint16_t> bits = to_bits(type, v);  // v becomes the representable values
    std::vector<uint8_t> raw(bits.size() * 2);
    std::memcpy(raw.data(), bits.data(), raw.size());
    return raw;
}

std::vector<float> floats_of(int32_t type, const std::vector<uint8_t>& raw) {
    if (type == INKWELL_ELEMENT_F32) {
        std::vector<float> v(raw.size() / 4);
        std::memcpy(v.data(), raw.data(), raw.size());
        return v;
    }
    std::vector<uint16_t> bits(raw.size() / 2);
    std::memcpy(bits.data(), raw.data(), raw.size());
    return widen_all(type, bits);
}

int32_t call(const Problem& pr, int32_t type, inkwell_context* ctx, const void* x, const void* w, const void* b, void* y) {
    if (pr.group) {
        const inkwell_group_norm_params p{x, w, b, y, pr.batch, pr.channels, pr.spatial, pr.groups, pr.eps, pr.activation};
        return type == INKWELL_ELEMENT_F32   ? inkwell_group_norm_f32(ctx, &p)
               : type == INKWELL_ELEMENT_F16 ? inkwell_group_norm_f16(ctx, &p)
                                             : inkwell_group_norm_bf16(ctx, &p);
    }
    const inkwell_layer_norm_params p{x, w, b, y, pr.rows, pr.dim, pr.eps};
    return type == INKWELL_ELEMENT_F32   ? inkwell_layer_norm_f32(ctx, &p)
           : type == INKWELL_ELEMENT_F16 ? inkwell_layer_norm_f16(ctx, &p)
                                         : inkwell_layer_norm_bf16(ctx, &p);
}

double spacing16(int32_t type, double a) {
    if (type == INKWELL_ELEMENT_F32) return 0.0;
    const int frac = type == INKWELL_ELEMENT_F16 ? 10 : 7, emin = type == INKWELL_ELEMENT_F16 ? -14 : -126;
    const int e = a > 0 ? std::max(std::ilogb(a), emin) : emin;
    return std::ldexp(1.0, e - frac);
}

std::vector<double> tolerance(const Problem& pr, int32_t type, const Host& h) {
    const int64_t n = pr.length();
    std::vector<double> tol(size_t(pr.count()));
    for (int64_t s = 0; s < pr.segments(); ++s) {
        const float* x = h.x.data() + s * n;
        double mean = 0, sq = 0;
        for (int64_t i = 0; i < n; ++i) mean += x[i];
        mean /= double(n);
        for (int64_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
        const double std_dev = std::sqrt(sq / double(n)), rstd = 1.0 / std::sqrt(sq / double(n) + pr.eps);
        const double shift_term = 16.0 * kU * (std::fabs(mean - x[0]) + std_dev) * rstd;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t a = pr.affine_index(s, i);
            const double w = pr.weight ? std::fabs(h.w[size_t(a)]) : 1.0, b = pr.bias ? std::fabs(h.b[size_t(a)]) : 0.0;
            const double t = std::fabs((x[i] - mean) * rstd), y = t * w + b;
            double bound = 2.0 * (w * (20.0 * kU * t + shift_term) + 2.0 * kU * y) + 1e-30;
            if (pr.activation != INKWELL_ACTIVATION_NONE) bound = 1.2 * bound + 8.0 * kU * 2.0 * y;
            tol[size_t(s * n + i)] = bound + 2.0 * spacing16(type, y + bound);
        }
    }
    return tol;
}

// Runs pr on both contexts; returns the outputs out of tolerance (NaN must meet NaN).
int64_t compare(const Problem& pr, int32_t type, Host h, const char* label) {
    std::vector<uint8_t> x = bytes_of(type, h.x), w, b;
    if (pr.weight) w = bytes_of(type, h.w);
    if (pr.bias) b = bytes_of(type, h.b);
    const size_t out_bytes = size_t(pr.count()) * (type == INKWELL_ELEMENT_F32 ? 4 : 2);
    std::vector<uint8_t> cpu_out(out_bytes, 0xee);
    CHECK_MSG(call(pr, type, cpu_ctx(), x.data(), pr.weight ? w.data() : nullptr, pr.bias ? b.data() : nullptr,
                   cpu_out.data()) == INKWELL_OK,
              "%s cpu: %s", label, inkwell_last_error_message());
    DeviceBuffer<uint8_t> dx(x), dw(w), db(b), dy(std::vector<uint8_t>(out_bytes, 0xee));
    const int32_t st = call(pr, type, cuda_ctx(), dx.get(), pr.weight ? dw.get() : nullptr, pr.bias ? db.get() : nullptr,
                            dy.get());
    CHECK_MSG(st == INKWELL_OK, "%s cuda: %s", label, inkwell_last_error_message());
    const std::vector<float> cpu = floats_of(type, cpu_out), gpu = floats_of(type, dy.download());
    const std::vector<double> tol = tolerance(pr, type, h);
    int64_t bad = 0;
    for (size_t i = 0; i < cpu.size(); ++i) {
        const bool ok = std::isnan(cpu[i]) ? std::isnan(gpu[i]) : (gpu[i] == cpu[i] || std::fabs(double(gpu[i]) - cpu[i]) <= tol[i]);
        if (!ok && bad++ < 5)
            std::printf("    %s: output %zu cuda %.9g cpu %.9g, tolerance %.3g\n", label, i, double(gpu[i]),
                        double(cpu[i]), tol[i]);
    }
    return bad;
}

Host random_host(std::mt19937& rng, const Problem& pr, float offset, float spread) {
    std::normal_distribution<float> normal;
    Host h;
    h.x.resize(size_t(pr.count()));
    for (float& v : h.x) v = offset + spread * normal(rng);
    h.w.resize(size_t(pr.affine_count()));
    for (float& v : h.w) v = 1.0f + 0.5f * normal(rng);
    h.b.resize(size_t(pr.affine_count()));
    for (float& v : h.b) v = 0.5f * normal(rng);
    return h;
}

void expect_close(std::mt19937& rng, const Problem& pr, float offset = 0.25f, float spread = 1.5f) {
    for (int32_t type : {INKWELL_ELEMENT_F32, INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        char label[128];
        if (pr.group)
            std::snprintf(label, sizeof label, "group_norm %s [%lld,%lld,%lld] G=%lld act=%d offset %g",
                          type == 0 ? "f32" : type_name(type), (long long)pr.batch, (long long)pr.channels,
                          (long long)pr.spatial, (long long)pr.groups, pr.activation, double(offset));
        else
            std::snprintf(label, sizeof label, "layer_norm %s [%lld,%lld] offset %g", type == 0 ? "f32" : type_name(type),
                          (long long)pr.rows, (long long)pr.dim, double(offset));
        // A 1e4 offset is not representable with a 0.1 spread in 16 bits: f32 only.
        if (type != INKWELL_ELEMENT_F32 && std::fabs(offset) > 100) continue;
        const int64_t bad = compare(pr, type, random_host(rng, pr, offset, spread), label);
        CHECK_MSG(bad == 0, "%s: %lld outputs out of tolerance", label, (long long)bad);
    }
}

}  // namespace

TEST(cuda_group_norm_matches_cpu_on_every_path) {
    std::mt19937 rng(31);
    const Problem problems[] = {
        group_problem(1, 1, 1, 1, INKWELL_ACTIVATION_NONE),
        group_problem(3, 32, 1, 8, INKWELL_ACTIVATION_SILU),            // pixel 1x1: a warp each
        group_problem(2, 12, 35, 3, INKWELL_ACTIVATION_GELU, true, false),
        group_problem(1, 6, 39, 6, INKWELL_ACTIVATION_GELU_TANH, false, true),
        group_problem(2, 97, 7, 97, INKWELL_ACTIVATION_QUICK_GELU),
        group_problem(1, 10, 1021, 5, INKWELL_ACTIVATION_RELU, false, false),  // a block each
        group_problem(2, 2, 3001, 1, INKWELL_ACTIVATION_SILU, true, true, 0.0),
        group_problem(2, 320, 4096, 32, INKWELL_ACTIVATION_SILU),      // U-Net level: sliced
        group_problem(1, 8, 50021, 1, INKWELL_ACTIVATION_NONE),        // one segment, many slices
        group_problem(4, 64, 100, 32, INKWELL_ACTIVATION_SILU),
    };
    for (const Problem& pr : problems) expect_close(rng, pr);
}

TEST(cuda_layer_norm_matches_cpu_on_every_path) {
    std::mt19937 rng(32);
    const Problem problems[] = {
        layer_problem(1, 1),           layer_problem(4, 1, false, false), layer_problem(15, 37),
        layer_problem(8192, 320),      layer_problem(77, 768, true, false), layer_problem(16, 5000, false, true),
        layer_problem(3, 20000),       layer_problem(1, 1 << 20, true, true, 1e-6), layer_problem(1021, 97, true, true, 0.0),
    };
    for (const Problem& pr : problems) expect_close(rng, pr);
}

TEST(cuda_norms_are_accurate_with_a_large_mean_offset) {
    std::mt19937 rng(33);
    expect_close(rng, group_problem(2, 64, 64, 32, INKWELL_ACTIVATION_NONE), 1e4f, 0.1f);
    expect_close(rng, group_problem(1, 8, 50000, 1, INKWELL_ACTIVATION_NONE), -1e4f, 0.1f);  // sliced
    expect_close(rng, layer_problem(32, 64), 1e4f, 0.1f);
    expect_close(rng, layer_problem(2, 30000), 1e3f, 0.5f);
    // And as an invariant on the CUDA side alone: the mean is removed.
    const Problem pr = layer_problem(4, 4096, false, false);
    Host h = random_host(rng, pr, 1e4f, 0.1f);
    DeviceBuffer<float> dx(h.x), dy(h.x.size());
    CHECK(call(pr, INKWELL_ELEMENT_F32, cuda_ctx(), dx.get(), nullptr, nullptr, dy.get()) == INKWELL_OK);
    const std::vector<float> y = dy.download();
    for (int64_t r = 0; r < 4; ++r) {
        double mean = 0;
        for (int64_t i = 0; i < 4096; ++i) mean += y[size_t(r * 4096 + i)];
        CHECK_MSG(std::fabs(mean / 4096) < 1e-4, "row %lld: mean %g", (long long)r, mean / 4096);
    }
}

TEST(cuda_norms_propagate_nan_and_handle_constant_groups_like_the_cpu) {
    std::mt19937 rng(34);
    for (int32_t type : {INKWELL_ELEMENT_F32, INKWELL_ELEMENT_BF16}) {
        const Problem g = group_problem(2, 6, 50, 3, INKWELL_ACTIVATION_SILU);
        for (float special : {NAN, INFINITY, -INFINITY}) {
            Host h = random_host(rng, g, 0.0f, 1.0f);
            h.x[137] = special;  // sample 0, group 1
            h.x[503] = special;  // sample 1, group 2
            CHECK(compare(g, type, h, "group_norm specials") == 0);
        }
        const Problem l = layer_problem(5, 33);
        Host h = random_host(rng, l, 0.0f, 1.0f);
        h.x[33 + 5] = NAN;
        h.x[4 * 33] = INFINITY;  // the first element: the GPU's shift
        CHECK(compare(l, type, h, "layer_norm specials") == 0);
        // Constant groups: y = b with eps > 0, NaN (0 * inf) with eps 0.
        for (double eps : {1e-5, 0.0}) {
            const Problem c = group_problem(1, 4, 300, 2, INKWELL_ACTIVATION_NONE, true, true, eps);
            Host k = random_host(rng, c, 0.0f, 1.0f);
            for (size_t i = 0; i < k.x.size(); ++i) k.x[i] = i < 600 ? 3.0f : -0.5f;
            CHECK(compare(c, type, k, eps == 0 ? "constant groups, eps 0" : "constant groups") == 0);
        }
    }
}

TEST(cuda_norms_reject_what_the_cpu_rejects) {
    DeviceBuffer<float> x(240), w(12), out(240);
    inkwell_group_norm_params g{x.get(), w.get(), nullptr, out.get(), 2, 12, 10, 5, 1e-5, INKWELL_ACTIVATION_NONE};
    CHECK(inkwell_group_norm_f32(cuda_ctx(), &g) == INKWELL_INVALID_ARGUMENT);  // 5 does not divide 12
    g.groups = 4;
    g.eps = -1;
    CHECK(inkwell_group_norm_f16(cuda_ctx(), &g) == INKWELL_INVALID_ARGUMENT);
    g.eps = 1e-5;
    g.output = x.get();  // in place
    CHECK(inkwell_group_norm_f32(cuda_ctx(), &g) == INKWELL_INVALID_ARGUMENT);
    g.output = out.get();
    CHECK(inkwell_group_norm_bf16(cuda_ctx(), &g) == INKWELL_OK);
    std::vector<float> host(240, 1.0f);
    g.input = host.data();  // a host pointer: refused by the backend, naming it
    CHECK(inkwell_group_norm_f32(cuda_ctx(), &g) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "group_norm: input") != nullptr);
    inkwell_layer_norm_params l{x.get(), nullptr, w.get(), out.get(), 20, 12, 1e-5};
    CHECK(inkwell_layer_norm_f32(cuda_ctx(), &l) == INKWELL_OK);
    l.dim = 0;
    CHECK(inkwell_layer_norm_f32(cuda_ctx(), &l) == INKWELL_INVALID_ARGUMENT);
    l.dim = 12;
    l.bias = out.get();
    CHECK(inkwell_layer_norm_f32(cuda_ctx(), &l) == INKWELL_INVALID_ARGUMENT);
    l.bias = w.get();
    l.output = host.data();
    CHECK(inkwell_layer_norm_f32(cuda_ctx(), &l) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "layer_norm: output") != nullptr);
}
