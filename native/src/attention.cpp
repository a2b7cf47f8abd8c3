// ABI entry inkwell_attention_f32: validates, dispatches to the CPU fast path.
#include <cmath>
#include <cstdint>
#include <string>

#include "context.hpp"
#include "cpu/attention_cpu.hpp"

using namespace inkwell;

namespace {

// Largest tensor accepted, in elements: keeps every offset far from int64 overflow.
constexpr int64_t kMaxElements = int64_t(1) << 40;
constexpr int64_t kMaxHeadDim = 256;

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

bool overlaps(const float* a, int64_t a_count, const float* b, int64_t b_count) {
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    return a0 < b0 + uintptr_t(b_count) * sizeof(float) && b0 < a0 + uintptr_t(a_count) * sizeof(float);
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

void validate(const inkwell_attention_params& p) {
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
    const int64_t q_count = element_count(p, p.q_len, "q", "q_len");
    const int64_t kv_count = element_count(p, p.kv_len, "k", "kv_len");
    check_kv_lens(p);
    if (overlaps(p.out, q_count, p.q, q_count)) invalid_argument("attention: out overlaps q");
    if (overlaps(p.out, q_count, p.k, kv_count)) invalid_argument("attention: out overlaps k");
    if (overlaps(p.out, q_count, p.v, kv_count)) invalid_argument("attention: out overlaps v");
}

}  // namespace

extern "C" int32_t inkwell_attention_f32(inkwell_context* context, const inkwell_attention_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        validate(*params);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->attention(ctx.cuda_state, params));
            return;
        }
        cpu::attention_fast(ctx.pool, *params);
    });
}
