// ABI entry inkwell_randn_f32: validates, dispatches.
#include <string>

#include "context.hpp"
#include "cpu/randn_cpu.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

extern "C" int32_t inkwell_randn_f32(inkwell_context* context, const inkwell_randn_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        const inkwell_randn_params& p = *params;
        check_not_null(p.out, "randn", "out");
        check_count(p.count, "randn", "count");
        // The stream has 2^64 elements: offset + count may reach 2^64 but not pass it (a
        // range past the end would wrap to the start). 2^64 - count is UINT64_MAX - count + 1.
        if (p.offset > UINT64_MAX - uint64_t(p.count) + 1)
            invalid_argument("randn: offset " + std::to_string(p.offset) + " + count " + std::to_string(p.count) +
                             " exceeds the 2^64 elements of the stream");
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->randn(ctx.cuda_state, &p));
            return;
        }
        cpu::randn_fast(ctx.pool, p.out, p.count, p.seed, p.offset);
    });
}
