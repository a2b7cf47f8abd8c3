// Attention on a CUDA context against a CPU context, within atol + rtol |ref|: every head
// size bucket and sizes between them (1, 33, 100, 200 run padded), the unpadded 40/80/160,
// query and key lengths that are not multiples of the 64-row and 32-key tiles, causal
// masks with q_len != kv_len, kv_lens (host memory) per batch, and large logits. The same
// cases, and Stable Diffusion's head sizes 40/80/160 in self attention (L = 256) and cross
// attention (Lk = 77), causal and with kv_lens, in float16 and bfloat16 (the tensor-core
// kernel, attention_half_cuda.cu) against the CPU context's _f16 / _bf16 entry, with a
// derived tolerance (see cuda_attention_half_matches_cpu), and run twice for identical bits.
// The BLHD layout ([B, L, H, D], params.layout = 1): float32 against the CPU context in the
// same layout, 16-bit with the CUDA call on permuted copies and its output permuted back
// (the CPU's BLHD result is its BHLD result permuted, bit for bit: test_attention.cpp).
#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>

#include "cuda_test_util.hpp"
#include "half_test_util.hpp"

using namespace inkwell_test;

namespace {

struct Case {
    int64_t batch, heads, q_len, kv_len, head_dim;
    int causal;
    bool lens;
    float logit_scale = 1.0f;
    int32_t layout = INKWELL_ATTENTION_BHLD;
};

const Case kCases[] = {
    {1, 1, 1, 1, 1, 0, false},       {2, 3, 97, 77, 40, 0, false},    {1, 2, 130, 130, 80, 1, false},
    {2, 2, 65, 33, 160, 0, true},    {1, 1, 64, 32, 64, 0, false},    {1, 2, 100, 150, 33, 1, true},
    {2, 1, 77, 200, 100, 0, true},   {1, 1, 40, 40, 128, 1, false},   {1, 1, 31, 257, 200, 0, false},
    {1, 2, 70, 70, 256, 1, true},    {1, 1, 300, 300, 512, 0, false}, {2, 1, 77, 40, 300, 1, true},    {1, 1, 129, 64, 32, 1, false},   {2, 8, 256, 77, 40, 0, false},
    {1, 2, 96, 96, 80, 0, false, 8.0f},
};

// BLHD: heads > 1 throughout (one head makes both layouts the same memory); odd and padded
// head sizes (1, 33: element loads in the 16-bit kernel), the Stable Diffusion sizes (16-byte
// loads with a row stride of heads * head_dim), 256, causal, kv_lens, Lq != Lk.
constexpr int32_t kBlhd = INKWELL_ATTENTION_BLHD;
const Case kBlhdCases[] = {
    {2, 3, 1, 1, 1, 0, false, 1.0f, kBlhd},      {2, 3, 97, 77, 40, 0, false, 1.0f, kBlhd},
    {1, 4, 130, 130, 80, 1, true, 1.0f, kBlhd},  {2, 2, 65, 33, 160, 0, true, 1.0f, kBlhd},
    {1, 3, 100, 150, 33, 1, true, 1.0f, kBlhd},  {1, 2, 40, 33, 512, 0, true, 1.0f, kBlhd},  {1, 2, 70, 70, 256, 1, true, 1.0f, kBlhd},
    {2, 8, 256, 77, 40, 0, false, 1.0f, kBlhd},  {1, 2, 129, 200, 64, 1, false, 4.0f, kBlhd},
};

// x [B, H, L, D] -> [B, L, H, D] (to_bhld: back).
template <class T>
std::vector<T> permute(const std::vector<T>& x, int64_t batch, int64_t heads, int64_t length, int64_t d_len,
                       bool to_bhld) {
    std::vector<T> y(x.size());
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < length; ++i) {
                const int64_t bhld = ((b * heads + h) * length + i) * d_len;
                const int64_t blhd = ((b * length + i) * heads + h) * d_len;
                std::copy_n(x.begin() + (to_bhld ? blhd : bhld), d_len, y.begin() + (to_bhld ? bhld : blhd));
            }
    return y;
}

void check_case(const Case& c, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t nq = c.batch * c.heads * c.q_len * c.head_dim, nk = c.batch * c.heads * c.kv_len * c.head_dim;
    std::vector<float> q(nq), k(nk), v(nk);
    for (float& x : q) x = normal(rng) * c.logit_scale;
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    std::vector<int32_t> lens(c.batch);
    for (int64_t b = 0; b < c.batch; ++b)
        lens[b] = int32_t(std::uniform_int_distribution<int64_t>(1, c.kv_len)(rng));
    inkwell_attention_params p{};
    p.batch = c.batch;
    p.heads = c.heads;
    p.q_len = c.q_len;
    p.kv_len = c.kv_len;
    p.head_dim = c.head_dim;
    p.scale = 1.0 / std::sqrt(double(c.head_dim));
    p.causal = c.causal;
    p.kv_lens = c.lens ? lens.data() : nullptr;
    p.layout = c.layout;  // both contexts; the random data is the same in either layout
    std::vector<float> ref(nq, NAN);
    p.q = q.data();
    p.k = k.data();
    p.v = v.data();
    p.out = ref.data();
    CHECK_MSG(inkwell_attention_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());

    DeviceBuffer<float> dq(q), dk(k), dv(v), dout(std::vector<float>(nq, NAN));
    p.q = dq.get();
    p.k = dk.get();
    p.v = dv.get();
    p.out = dout.get();
    CHECK_MSG(inkwell_attention_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    const std::vector<float> got = dout.download();
    int64_t bad = 0;
    for (int64_t i = 0; i < nq; ++i) {
        if (std::fabs(got[i] - ref[i]) <= 5e-5 + 2e-4 * std::fabs(ref[i])) continue;
        if (bad++ < 10) std::printf("    [%lld] got %.9g want %.9g\n", (long long)i, got[i], ref[i]);
    }
    CHECK_MSG(bad == 0, "B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d lens=%d layout=%d: %lld of %lld differ",
              (long long)c.batch, (long long)c.heads, (long long)c.q_len, (long long)c.kv_len,
              (long long)c.head_dim, c.causal, int(c.lens), int(c.layout), (long long)bad, (long long)nq);
}

}  // namespace

TEST(cuda_attention_matches_cpu) {
    std::mt19937 rng(17);
    for (const Case& c : kCases) check_case(c, rng);
}

TEST(cuda_attention_blhd_matches_cpu) {
    std::mt19937 rng(18);
    for (const Case& c : kBlhdCases) check_case(c, rng);
}

// ---- float16 / bfloat16 ------------------------------------------------------------------
//
// Tolerance, derived (not fitted). Both backends widen q, k, v exactly and compute in
// float32; the CPU's output is y = sum_j w_j v_j with w = softmax(scores), rounded once. The
// GPU differs from it only by (a) float32 summation order in q.k, in P V and in the row sum,
// (b) exp2 and rescaling roundings, and (c) P: it rounds p_j to the element type before the
// P V product (flash-attention does the same), while the row sum l uses the unrounded p.
// Per output (row i, column d), with A = sum_j w_j |v_jd| (the CPU context's float32
// attention on q, k, |v|), Sigma_i = scale |q_i| max_j |k_j| (Euclidean norms: a bound on
// scale sum_d |q_id k_jd| for every key, Cauchy-Schwarz) and u = 2^-11 (f16) / 2^-8 (bf16):
//   - scores: each backend's float32 q.k is within gamma(D) Sigma_i of the exact one
//     (half_test_util.hpp), the scale multiply, the max subtraction and the exp2 argument add
//     a few 2^-24 relative roundings of |s| <= Sigma_i (2^-21 Sigma_i in all), and the two
//     exp2 implementations differ by under 2^-20 relative (the CPU's polynomial ~2e-7, CUDA's
//     exp2f 2 ulp): each unnormalised weight is off by a factor (1 + eta) with
//     eta = (gamma_gpu(D) + gamma_cpu(D) + 2^-21) Sigma_i + 2^-19, so each normalised
//     weight by at most 2.02 eta w_j, and the output by 2.02 eta A;
//   - P rounding (GPU only): |p~ - p| <= u p (+ 2^-25 absolute in f16's subnormal range, in
//     units of the running maximum, where l >= 1), so the output moves by at most
//     1.01 u A + 2^-25 sum_j |v_jd|;
//   - P V and l: gamma_gpu(Lk) + gamma_cpu(Lk) relative to sum_j p_j |v_jd| = l A, plus
//     2 Lk 2^-24 for the two row sums, 2 per 64-key tile for the rescalings by alpha, and
//     the final division: (2 Lk + 2 ceil(Lk / 64) + 4) 2^-24 A;
//   - output rounding: (u + 2^-20)(|gpu| + |cpu|) covers both roundings to nearest (taken
//     at the larger result) and the float32 division, plus 2^-25 per side in f16's
//     subnormal range.
// A multiplies everything but the output rounding, with a factor 1.001 for its own float32
// error. For bf16 the P term (2^-8 A) dominates; for f16 at L = 256 the P, score and
// summation terms are each a fraction of an output ulp. Lk is kv_len (a bound on every
// row's visible keys). Every run is also repeated and must give the same bits.

namespace {

const Case kSdCases[] = {
    {1, 4, 256, 256, 40, 0, false},  {1, 4, 256, 77, 40, 0, false},  {1, 2, 256, 256, 80, 0, false},
    {1, 2, 256, 77, 80, 0, false},   {1, 2, 256, 256, 160, 0, false}, {1, 2, 256, 77, 160, 0, false},
    {2, 2, 256, 256, 80, 1, true},   {2, 2, 250, 77, 160, 0, true},  {1, 1, 64, 64, 512, 0, false}, {1, 2, 50, 77, 300, 1, true},  {1, 2, 256, 256, 40, 1, false, 4.0f},
};

int32_t attention_16(int32_t type, inkwell_context* ctx, const inkwell_attention_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_attention_f16(ctx, p) : inkwell_attention_bf16(ctx, p);
}

double norm(const float* x, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * x[i];
    return std::sqrt(s);
}

void check_half_case(int32_t type, const Case& c, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t D = c.head_dim, bh_count = c.batch * c.heads;
    const int64_t nq = bh_count * c.q_len * D, nk = bh_count * c.kv_len * D;
    std::vector<float> q(nq), k(nk), v(nk);
    for (float& x : q) x = normal(rng) * c.logit_scale;
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    const std::vector<uint16_t> qb = to_bits(type, q), kb = to_bits(type, k), vb = to_bits(type, v);
    std::vector<int32_t> lens(c.batch);
    for (int64_t b = 0; b < c.batch; ++b) lens[b] = int32_t(std::uniform_int_distribution<int64_t>(1, c.kv_len)(rng));

    inkwell_attention_params p{};
    p.batch = c.batch;
    p.heads = c.heads;
    p.q_len = c.q_len;
    p.kv_len = c.kv_len;
    p.head_dim = D;
    p.scale = 1.0 / std::sqrt(double(D));
    p.causal = c.causal;
    p.kv_lens = c.lens ? lens.data() : nullptr;
    std::vector<uint16_t> ref(nq, 0xffff);
    p.q = qb.data();
    p.k = kb.data();
    p.v = vb.data();
    p.out = ref.data();
    CHECK_MSG(attention_16(type, cpu_ctx(), &p) == INKWELL_OK, "cpu %s: %s", type_name(type), inkwell_last_error_message());

    // A = sum_j w_j |v_jd|: the CPU's float32 attention on the widened q, k and |v|.
    std::vector<float> av(nk), weighted(nq, NAN);
    for (int64_t i = 0; i < nk; ++i) av[i] = std::fabs(v[i]);
    inkwell_attention_params f = p;
    f.q = q.data();
    f.k = k.data();
    f.v = av.data();
    f.out = weighted.data();
    CHECK_MSG(inkwell_attention_f32(cpu_ctx(), &f) == INKWELL_OK, "cpu scale: %s", inkwell_last_error_message());
    // Per (b, h): max_j |k_j| and sum_j |v_jd|; per row: Sigma_i.
    std::vector<double> k_norm_max(bh_count, 0.0), v_abs_sum(bh_count * D, 0.0), sigma(bh_count * c.q_len);
    for (int64_t bh = 0; bh < bh_count; ++bh) {
        for (int64_t j = 0; j < c.kv_len; ++j) {
            const int64_t at = (bh * c.kv_len + j) * D;
            k_norm_max[bh] = std::max(k_norm_max[bh], norm(&k[at], D));
            for (int64_t d = 0; d < D; ++d) v_abs_sum[bh * D + d] += std::fabs(v[at + d]);
        }
        for (int64_t i = 0; i < c.q_len; ++i)
            sigma[bh * c.q_len + i] = p.scale * norm(&q[(bh * c.q_len + i) * D], D) * k_norm_max[bh];
    }

    // The CPU ran BHLD; in BLHD the CUDA call gets permuted copies (its output is permuted back).
    const bool blhd = c.layout == INKWELL_ATTENTION_BLHD;
    auto device_layout = [&](const std::vector<uint16_t>& x, int64_t length) {
        return blhd ? permute(x, c.batch, c.heads, length, D, false) : x;
    };
    DeviceBuffer<uint16_t> dq(device_layout(qb, c.q_len)), dk(device_layout(kb, c.kv_len)),
        dv(device_layout(vb, c.kv_len));
    DeviceBuffer<uint16_t> out1(std::vector<uint16_t>(nq, 0x7e00)), out2(std::vector<uint16_t>(nq, 0xffff));
    p.layout = c.layout;
    p.q = dq.get();
    p.k = dk.get();
    p.v = dv.get();
    p.out = out1.get();
    CHECK_MSG(attention_16(type, cuda_ctx(), &p) == INKWELL_OK, "cuda %s: %s", type_name(type),
              inkwell_last_error_message());
    p.out = out2.get();
    CHECK_MSG(attention_16(type, cuda_ctx(), &p) == INKWELL_OK, "cuda %s (again): %s", type_name(type),
              inkwell_last_error_message());
    std::vector<uint16_t> got = out1.download();
    const std::vector<uint16_t> again = out2.download();
    CHECK_MSG(got == again, "%s: two runs on the same input differ", type_name(type));
    if (blhd) got = permute(got, c.batch, c.heads, c.q_len, D, true);

    const double u = unit_roundoff(type), two24 = std::ldexp(1.0, -24);
    const double pv = gamma_gpu(c.kv_len) + gamma_cpu(c.kv_len) +
                      double(2 * c.kv_len + 2 * ((c.kv_len + 63) / 64) + 4) * two24;
    const double score_gamma = gamma_gpu(D) + gamma_cpu(D) + std::ldexp(1.0, -21);
    int64_t bad = 0;
    double worst = 0;
    for (int64_t bh = 0; bh < bh_count; ++bh) {
        for (int64_t i = 0; i < c.q_len; ++i) {
            const double eta = score_gamma * sigma[bh * c.q_len + i] + std::ldexp(1.0, -19);
            const double weight_terms = (2.02 * eta + 1.01 * u + pv) * 1.001;
            for (int64_t d = 0; d < D; ++d) {
                const int64_t at = (bh * c.q_len + i) * D + d;
                const double g = widen16(type, got[at]), r = widen16(type, ref[at]);
                const double tol = (u + std::ldexp(1.0, -20)) * (std::fabs(g) + std::fabs(r)) +
                                   weight_terms * double(weighted[at]) +
                                   subnormal_floor(type) * (v_abs_sum[bh * D + d] + 2.0);
                const double diff = std::fabs(g - r);
                if (diff <= tol) {
                    worst = std::max(worst, diff / tol);
                    continue;
                }
                if (bad++ < 10)
                    std::printf("    %s [bh %lld row %lld d %lld] got %.9g want %.9g (tolerance %.3g, A %.4g)\n",
                                type_name(type), (long long)bh, (long long)i, (long long)d, g, r, tol,
                                double(weighted[at]));
            }
        }
    }
    std::printf("  %s B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d lens=%d%s: worst |diff| / tolerance %.3f\n",
                type_name(type), (long long)c.batch, (long long)c.heads, (long long)c.q_len, (long long)c.kv_len,
                (long long)D, c.causal, int(c.lens), blhd ? " BLHD" : "", worst);
    CHECK_MSG(bad == 0, "%s B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d lens=%d%s: %lld of %lld differ",
              type_name(type), (long long)c.batch, (long long)c.heads, (long long)c.q_len, (long long)c.kv_len,
              (long long)D, c.causal, int(c.lens), blhd ? " BLHD" : "", (long long)bad, (long long)nq);
}

}  // namespace

TEST(cuda_attention_half_matches_cpu) {
    std::mt19937 rng(41);
    // Under a sanitizer: element-wise loads with padding (D = 33), Q from shared memory
    // (D = 200, 256 with causal + kv_lens), and the vector path (D = 80 causal + kv_lens).
    const bool quick = sanitizer_run();
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        for (size_t i = 0; i < std::size(kCases); ++i)
            if (!quick || i == 5 || i == 8 || i == 9) check_half_case(type, kCases[i], rng);
        for (size_t i = 0; i < std::size(kSdCases); ++i)
            if (!quick || i == 6) check_half_case(type, kSdCases[i], rng);
    }
}

TEST(cuda_attention_half_blhd_matches_cpu) {
    std::mt19937 rng(42);
    // Under a sanitizer: element loads (D = 33) and 16-byte loads with the BLHD stride (D = 80).
    const bool quick = sanitizer_run();
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16})
        for (size_t i = 0; i < std::size(kBlhdCases); ++i)
            if (!quick || i == 2 || i == 4) check_half_case(type, kBlhdCases[i], rng);
}
