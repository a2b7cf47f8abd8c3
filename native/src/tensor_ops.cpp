// ABI entries of the tensor plumbing: inkwell_add_f32 (broadcast add, in place allowed),
// inkwell_cat_f32 and inkwell_transpose_f32. Each validates sizes (every product within
// 2^40 elements, computed by division so nothing overflows), divisibility and overlap, then
// dispatches to the CUDA backend or the CPU fast path.
#include <string>

#include "context.hpp"
#include "cpu/elementwise_cpu.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

std::string str(int64_t v) { return std::to_string(v); }

// The product of sizes already checked to be 1..2^40, refused beyond 2^40.
int64_t checked_product(std::initializer_list<int64_t> sizes, const char* kernel, const char* tensor) {
    int64_t total = 1;
    for (int64_t s : sizes) {
        if (s > kMaxTensorElements / total)
            invalid_argument(std::string(kernel) + ": " + tensor + " would have more than 2^40 elements");
        total *= s;
    }
    return total;
}

void validate_add(const inkwell_add_params& p) {
    const char* k = "add";
    check_not_null(p.a, k, "a");
    check_not_null(p.b, k, "b");
    check_not_null(p.out, k, "out");
    check_count(p.count, k, "count");
    check_count(p.b_count, k, "b_count");
    check_count(p.inner, k, "inner");
    if (p.b_count > p.count / p.inner)
        invalid_argument("add: b_count " + str(p.b_count) + " * inner " + str(p.inner) + " exceeds count " + str(p.count));
    const int64_t period = p.b_count * p.inner;
    if (p.count % period != 0)
        invalid_argument("add: b_count " + str(p.b_count) + " * inner " + str(p.inner) + " = " + str(period) +
                         " does not divide count " + str(p.count));
    const FloatSpan out{p.out, p.count, "out"};
    check_no_overlap(out, FloatSpan{p.b, p.b_count, "b"}, k);
    if (p.out != p.a && spans_overlap(out, FloatSpan{p.a, p.count, "a"}))
        invalid_argument("add: out overlaps a (only out == a, in place, is allowed)");
}

void validate_cat(const inkwell_cat_params& p) {
    const char* k = "cat";
    check_not_null(p.a, k, "a");
    check_not_null(p.b, k, "b");
    check_not_null(p.out, k, "out");
    check_count(p.outer, k, "outer");
    check_count(p.a_inner, k, "a_inner");
    check_count(p.b_inner, k, "b_inner");
    const int64_t out_count = checked_product({p.outer, p.a_inner + p.b_inner}, k, "out");
    const FloatSpan out{p.out, out_count, "out"};
    check_no_overlap(out, FloatSpan{p.a, p.outer * p.a_inner, "a"}, k);
    check_no_overlap(out, FloatSpan{p.b, p.outer * p.b_inner, "b"}, k);
}

void validate_transpose(const inkwell_transpose_params& p) {
    const char* k = "transpose";
    check_not_null(p.input, k, "input");
    check_not_null(p.output, k, "output");
    check_count(p.outer, k, "outer");
    check_count(p.size0, k, "size0");
    check_count(p.middle, k, "middle");
    check_count(p.size1, k, "size1");
    check_count(p.inner, k, "inner");
    const int64_t count = checked_product({p.outer, p.size0, p.middle, p.size1, p.inner}, k, "input");
    check_no_overlap(FloatSpan{p.output, count, "output"}, FloatSpan{p.input, count, "input"}, k);
}

}  // namespace

extern "C" int32_t inkwell_add_f32(inkwell_context* context, const inkwell_add_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("add: params is null");
        validate_add(*params);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->add(ctx.cuda_state, params));
            return;
        }
        cpu::add_fast(ctx.pool, *params);
    });
}

extern "C" int32_t inkwell_cat_f32(inkwell_context* context, const inkwell_cat_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("cat: params is null");
        validate_cat(*params);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->cat(ctx.cuda_state, params));
            return;
        }
        cpu::cat_fast(ctx.pool, *params);
    });
}

extern "C" int32_t inkwell_transpose_f32(inkwell_context* context, const inkwell_transpose_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("transpose: params is null");
        validate_transpose(*params);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->transpose(ctx.cuda_state, params));
            return;
        }
        cpu::transpose_fast(ctx.pool, *params);
    });
}
