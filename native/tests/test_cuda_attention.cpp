// Attention on a CUDA context against a CPU context, within atol + rtol |ref|: every head
// size bucket and sizes between them (1, 33, 100, 200 run padded), the unpadded 40/80/160,
// query and key lengths that are not multiples of the 64-row and 32-key tiles, causal
// masks with q_len != kv_len, kv_lens (host memory) per batch, and large logits.
#include <cmath>
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

struct Case {
    int64_t batch, heads, q_len, kv_len, head_dim;
    int causal;
    bool lens;
    float logit_scale = 1.0f;
};

}  // namespace

TEST(cuda_attention_matches_cpu) {
    const Case cases[] = {
        {1, 1, 1, 1, 1, 0, false},       {2, 3, 97, 77, 40, 0, false},    {1, 2, 130, 130, 80, 1, false},
        {2, 2, 65, 33, 160, 0, true},    {1, 1, 64, 32, 64, 0, false},    {1, 2, 100, 150, 33, 1, true},
        {2, 1, 77, 200, 100, 0, true},   {1, 1, 40, 40, 128, 1, false},   {1, 1, 31, 257, 200, 0, false},
        {1, 2, 70, 70, 256, 1, true},    {1, 1, 129, 64, 32, 1, false},   {2, 8, 256, 77, 40, 0, false},
        {1, 2, 96, 96, 80, 0, false, 8.0f},
    };
    std::mt19937 rng(17);
    for (const Case& c : cases) {
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
        CHECK_MSG(bad == 0, "B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d lens=%d: %lld of %lld differ",
                  (long long)c.batch, (long long)c.heads, (long long)c.q_len, (long long)c.kv_len,
                  (long long)c.head_dim, c.causal, int(c.lens), (long long)bad, (long long)nq);
    }
}
