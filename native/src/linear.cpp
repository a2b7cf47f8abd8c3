// ABI entries inkwell_linear_f32/_f16/_bf16 and inkwell_geglu_f32/_f16/_bf16: validate every
// pointer, size, element count (with overflow checks, 2 * inner_dim included), the activation
// and overlap of the output with each input, then dispatch: to the CUDA backend, to the CPU
// fast path (f32), or to it on widened copies (f16, bf16: the output narrowed once).
#include <cstdint>
#include <string>
#include <vector>

#include "context.hpp"
#include "cpu/activations.hpp"
#include "cpu/linear_cpu.hpp"
#include "cpu/widened.hpp"
#include "element_types.hpp"

using namespace inkwell;

namespace {

// Largest element count of any one tensor: keeps every index, and every index times
// sizeof(float), far inside int64.
constexpr int64_t kMaxElements = int64_t(1) << 40;

std::string str(int64_t v) { return std::to_string(v); }

void require_positive(const char* kernel, int64_t value, const char* name) {
    if (value < 1) invalid_argument(std::string(kernel) + ": " + name + " must be >= 1, got " + str(value));
}

void require_not_null(const char* kernel, const void* pointer, const char* name) {
    if (pointer == nullptr) invalid_argument(std::string(kernel) + ": " + name + " is null");
}

// a * b for the tensor `what` (a, b >= 1), failing on int64 overflow or beyond kMaxElements.
int64_t element_count(const char* kernel, int64_t a, int64_t b, const char* what) {
    int64_t count = 0;
    if (__builtin_mul_overflow(a, b, &count) || count > kMaxElements)
        invalid_argument(std::string(kernel) + ": " + what + " has more than 2^40 elements (" + str(a) + " x " + str(b) +
                         ")");
    return count;
}

// Byte ranges as integers: pointers into different objects are not ordered in C++.
bool overlaps(const void* a, int64_t a_count, const void* b, int64_t b_count, int64_t element_bytes) {
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    const auto a1 = a0 + uintptr_t(a_count * element_bytes), b1 = b0 + uintptr_t(b_count * element_bytes);
    return a0 < b1 && b0 < a1;
}

// What the checks of both kernels share: W is [weight_rows, in_features] and the output
// [rows, out_cols]; bias, when given, has weight_rows elements.
struct Shape {
    const void *input, *weight, *bias, *output;
    int64_t rows, in_features, weight_rows, out_cols;
};

struct Counts {
    int64_t input, weight, output;
};

Counts check_tensors(const char* kernel, const Shape& s, int64_t element_bytes) {
    const Counts n{element_count(kernel, s.rows, s.in_features, "input"),
                   element_count(kernel, s.weight_rows, s.in_features, "weight"),
                   element_count(kernel, s.rows, s.out_cols, "output")};
    const std::string k(kernel);
    if (overlaps(s.output, n.output, s.input, n.input, element_bytes)) invalid_argument(k + ": output overlaps input");
    if (overlaps(s.output, n.output, s.weight, n.weight, element_bytes)) invalid_argument(k + ": output overlaps weight");
    if (s.bias != nullptr && overlaps(s.output, n.output, s.bias, s.weight_rows, element_bytes))
        invalid_argument(k + ": output overlaps bias");
    return n;
}

Counts validate(const inkwell_linear_params& p, int64_t element_bytes) {
    constexpr const char* kLinear = "linear";
    require_not_null(kLinear, p.input, "input");
    require_not_null(kLinear, p.weight, "weight");
    require_not_null(kLinear, p.output, "output");
    require_positive(kLinear, p.rows, "rows");
    require_positive(kLinear, p.in_features, "in_features");
    require_positive(kLinear, p.out_features, "out_features");
    if (!cpu::is_activation(p.activation))
        invalid_argument("linear: activation must be 0..5 (NONE, SILU, GELU, GELU_TANH, QUICK_GELU, RELU), got " +
                         std::to_string(p.activation));
    return check_tensors(kLinear, {p.input, p.weight, p.bias, p.output, p.rows, p.in_features, p.out_features, p.out_features},
                         element_bytes);
}

Counts validate(const inkwell_geglu_params& p, int64_t element_bytes) {
    constexpr const char* kGeglu = "geglu";
    require_not_null(kGeglu, p.input, "input");
    require_not_null(kGeglu, p.weight, "weight");
    require_not_null(kGeglu, p.output, "output");
    require_positive(kGeglu, p.rows, "rows");
    require_positive(kGeglu, p.in_features, "in_features");
    require_positive(kGeglu, p.inner_dim, "inner_dim");
    int64_t weight_rows = 0;
    if (__builtin_mul_overflow(p.inner_dim, int64_t(2), &weight_rows) || weight_rows > kMaxElements)
        invalid_argument("geglu: 2 * inner_dim is more than 2^40 (inner_dim " + str(p.inner_dim) + ")");
    return check_tensors(kGeglu, {p.input, p.weight, p.bias, p.output, p.rows, p.in_features, weight_rows, p.inner_dim},
                         element_bytes);
}

// f16/bf16 on the CPU: the float32 kernel on widened copies, the output narrowed once.
template <class Params, class Fast>
void run_widened(ThreadPool& pool, const Params& p, const Counts& n, int64_t bias_count, int32_t type, Fast fast) {
    const std::vector<float> input = cpu::widen(pool, type, p.input, n.input);
    const std::vector<float> weight = cpu::widen(pool, type, p.weight, n.weight);
    std::vector<float> bias;
    if (p.bias != nullptr) bias = cpu::widen(pool, type, p.bias, bias_count);
    std::vector<float> output(static_cast<size_t>(n.output));
    Params f = p;
    f.input = input.data();
    f.weight = weight.data();
    f.bias = p.bias != nullptr ? bias.data() : nullptr;
    f.output = output.data();
    fast(pool, f);
    cpu::narrow(pool, type, output, p.output);
}

int32_t linear(inkwell_context* context, const inkwell_linear_params* params, int32_t type) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("linear: params is null");
        const Counts n = validate(*params, element_size(type));
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->linear(ctx.cuda_state, params, type));
        } else if (type == INKWELL_ELEMENT_F32) {
            cpu::linear_fast(ctx.pool, *params);
        } else {
            run_widened(ctx.pool, *params, n, params->out_features, type,
                        [](ThreadPool& pool, const inkwell_linear_params& f) { cpu::linear_fast(pool, f); });
        }
    });
}

int32_t geglu(inkwell_context* context, const inkwell_geglu_params* params, int32_t type) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("geglu: params is null");
        const Counts n = validate(*params, element_size(type));
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->geglu(ctx.cuda_state, params, type));
        } else if (type == INKWELL_ELEMENT_F32) {
            cpu::geglu_fast(ctx.pool, *params);
        } else {
            run_widened(ctx.pool, *params, n, 2 * params->inner_dim, type,
                        [](ThreadPool& pool, const inkwell_geglu_params& f) { cpu::geglu_fast(pool, f); });
        }
    });
}

}  // namespace

extern "C" int32_t inkwell_linear_f32(inkwell_context* context, const inkwell_linear_params* params) {
    return linear(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_linear_f16(inkwell_context* context, const inkwell_linear_params* params) {
    return linear(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_linear_bf16(inkwell_context* context, const inkwell_linear_params* params) {
    return linear(context, params, INKWELL_ELEMENT_BF16);
}

extern "C" int32_t inkwell_geglu_f32(inkwell_context* context, const inkwell_geglu_params* params) {
    return geglu(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_geglu_f16(inkwell_context* context, const inkwell_geglu_params* params) {
    return geglu(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_geglu_bf16(inkwell_context* context, const inkwell_geglu_params* params) {
    return geglu(context, params, INKWELL_ELEMENT_BF16);
}
