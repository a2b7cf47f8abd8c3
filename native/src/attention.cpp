// ABI entries inkwell_attention_f32, _f16 and _bf16: validate, then dispatch to the CUDA
// backend, to the CPU fast path (f32), or to it on widened copies (f16, bf16). Both layouts
// (BHLD, BLHD) hold batch * heads * length * head_dim elements, so the element counts and
// overlap checks are the same for either.
#include <cmath>
#include <cstdint>
#include <string>

#include "context.hpp"
#include "cpu/attention_cpu.hpp"
#include "cpu/widened.hpp"
#include "element_types.hpp"

using namespace inkwell;

namespace {

// Largest tensor accepted, in elements: keeps every offset far from int64 overflow.
constexpr int64_t kMaxElements = int64_t(1) << 40;
constexpr int64_t kMaxHeadDim = 512;  // the VAE's mid-block attention: one head of 512

void check_pointer(const void* pointer, const char* name) {
    if (pointer == nullptr) invalid_argument(std::string("attention: ") + name + " is null");
}

void check_size(int64_t value, const char* name) {
    if (value < 1) invalid_argument(std::string("attention: ") + name + " must be >= 1, got " + std::to_string(value));
}

// batch * heads * length * head_dim, refusing int64 overflow and anything over 2^40.
int64_t element_count(const inkwell_attention_params& p, int64_t length, const char* tensor, const char* length_name) {
    int64_t count = p.batch;
    bool overflow = __builtin_mul_overflow(count, p.heads, &count);
    overflow = overflow || __builtin_mul_overflow(count, length, &count);
    overflow = overflow || __builtin_mul_overflow(count, p.head_dim, &count);
    if (overflow || count > kMaxElements)
        invalid_argument(std::string("attention: ") + tensor + " has batch * heads * " + length_name +
                         " * head_dim = " + std::to_string(p.batch) + " * " + std::to_string(p.heads) + " * " +
                         std::to_string(length) + " * " + std::to_string(p.head_dim) +
                         " elements, more than 2^40");
    return count;
}

bool overlaps(const void* a, int64_t a_count, const void* b, int64_t b_count, int64_t element_bytes) {
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    return a0 < b0 + uintptr_t(b_count * element_bytes) && b0 < a0 + uintptr_t(a_count * element_bytes);
}

void check_kv_lens(const inkwell_attention_params& p) {
    if (p.kv_lens == nullptr) return;
    for (int64_t b = 0; b < p.batch; ++b) {
        const int32_t n = p.kv_lens[b];
        if (n < 1 || n > p.kv_len)
            invalid_argument("attention: kv_lens[" + std::to_string(b) + "] must be 1.." + std::to_string(p.kv_len) +
                             " (kv_len), got " + std::to_string(n));
    }
}

void validate(const inkwell_attention_params& p, int64_t element_bytes) {
    check_pointer(p.q, "q");
    check_pointer(p.k, "k");
    check_pointer(p.v, "v");
    check_pointer(p.out, "out");
    check_size(p.batch, "batch");
    check_size(p.heads, "heads");
    check_size(p.q_len, "q_len");
    check_size(p.kv_len, "kv_len");
    if (p.head_dim < 1 || p.head_dim > kMaxHeadDim)
        invalid_argument("attention: head_dim must be 1.." + std::to_string(kMaxHeadDim) + ", got " +
                         std::to_string(p.head_dim));
    if (!std::isfinite(p.scale) || p.scale <= 0)
        invalid_argument("attention: scale must be finite and > 0, got " + std::to_string(p.scale));
    if (p.causal != 0 && p.causal != 1)
        invalid_argument("attention: causal must be 0 or 1, got " + std::to_string(p.causal));
    if (p.layout != INKWELL_ATTENTION_BHLD && p.layout != INKWELL_ATTENTION_BLHD)
        invalid_argument("attention: layout must be 0 (BHLD) or 1 (BLHD), got " + std::to_string(p.layout));
    const int64_t q_count = element_count(p, p.q_len, "q", "q_len");
    const int64_t kv_count = element_count(p, p.kv_len, "k", "kv_len");
    check_kv_lens(p);
    const int64_t e = element_bytes;
    if (overlaps(p.out, q_count, p.q, q_count, e)) invalid_argument("attention: out overlaps q");
    if (overlaps(p.out, q_count, p.k, kv_count, e)) invalid_argument("attention: out overlaps k");
    if (overlaps(p.out, q_count, p.v, kv_count, e)) invalid_argument("attention: out overlaps v");
}

// f16/bf16 on the CPU: the float32 kernel on widened copies, the output narrowed once. The
// copies keep the layout (element i widened to element i), so p.layout applies to them.
void attention_widened(ThreadPool& pool, const inkwell_attention_params& p, int32_t type) {
    const int64_t q_count = p.batch * p.heads * p.q_len * p.head_dim;
    const int64_t kv_count = p.batch * p.heads * p.kv_len * p.head_dim;
    const std::vector<float> q = cpu::widen(pool, type, p.q, q_count);
    const std::vector<float> k = cpu::widen(pool, type, p.k, kv_count);
    const std::vector<float> v = cpu::widen(pool, type, p.v, kv_count);
    std::vector<float> out(static_cast<size_t>(q_count));
    inkwell_attention_params f = p;
    f.q = q.data();
    f.k = k.data();
    f.v = v.data();
    f.out = out.data();
    cpu::attention_fast(pool, f);
    cpu::narrow(pool, type, out, p.out);
}

int32_t attention(inkwell_context* context, const inkwell_attention_params* params, int32_t type) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("attention: params is null");
        validate(*params, element_size(type));
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->attention(ctx.cuda_state, params, type));
        } else if (type == INKWELL_ELEMENT_F32) {
            cpu::attention_fast(ctx.pool, *params);
        } else {
            attention_widened(ctx.pool, *params, type);
        }
    });
}

}  // namespace

extern "C" int32_t inkwell_attention_f32(inkwell_context* context, const inkwell_attention_params* params) {
    return attention(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_attention_f16(inkwell_context* context, const inkwell_attention_params* params) {
    return attention(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_attention_bf16(inkwell_context* context, const inkwell_attention_params* params) {
    return attention(context, params, INKWELL_ELEMENT_BF16);
}
