// ABI entry inkwell_timestep_embedding_f32: validates sizes, parameters, overlap and (on the
// CPU, where they are host memory) that every timestep is finite, then dispatches. The CUDA
// launcher checks the timesteps itself after copying them to the host.
#include <cmath>
#include <cstdio>
#include <string>

#include "context.hpp"
#include "cpu/elementwise_cpu.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

constexpr const char* kName = "timestep_embedding";

std::string str(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

void validate(const inkwell_timestep_embedding_params& p) {
    check_not_null(p.timesteps, kName, "timesteps");
    check_not_null(p.output, kName, "output");
    check_count(p.count, kName, "count");
    check_count(p.dim, kName, "dim");
    if (p.dim > kMaxTensorElements / p.count)
        invalid_argument(std::string(kName) + ": output [" + std::to_string(p.count) + ", " + std::to_string(p.dim) +
                         "] would have more than 2^40 elements");
    check_finite(p.downscale_freq_shift, kName, "downscale_freq_shift");
    check_finite(p.scale, kName, "scale");
    check_finite(p.max_period, kName, "max_period");
    if (!(p.max_period > 0)) invalid_argument(std::string(kName) + ": max_period must be > 0, got " + str(p.max_period));
    const int64_t half = p.dim / 2;
    if (half > 0 && double(half) - p.downscale_freq_shift == 0)
        invalid_argument(std::string(kName) + ": half of dim " + std::to_string(p.dim) + " minus downscale_freq_shift " +
                         str(p.downscale_freq_shift) + " is 0 (the frequencies would divide by it)");
    check_no_overlap(FloatSpan{p.output, p.count * p.dim, "output"}, FloatSpan{p.timesteps, p.count, "timesteps"}, kName);
}

}  // namespace

extern "C" int32_t inkwell_timestep_embedding_f32(inkwell_context* context,
                                                  const inkwell_timestep_embedding_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("timestep_embedding: params is null");
        const inkwell_timestep_embedding_params& p = *params;
        validate(p);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->timestep_embedding(ctx.cuda_state, &p));
            return;
        }
        for (int64_t i = 0; i < p.count; ++i)
            if (!std::isfinite(p.timesteps[i]))
                invalid_argument(std::string(kName) + ": timesteps[" + std::to_string(i) + "] must be finite, got " +
                                 str(p.timesteps[i]));
        cpu::timestep_embedding_fast(ctx.pool, p);
    });
}
