// ABI entry inkwell_max_pool2d_f32: validates what torch's max_pool2d checks (kernel and
// stride >= 1, 0 <= pad <= kernel / 2, a kernel that fits the padded input) plus the given
// output size against (in + 2 pad - kernel) / stride + 1, element counts and overlap; then
// dispatches.
#include <string>

#include "context.hpp"
#include "cpu/elementwise_cpu.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

constexpr const char* kName = "max_pool2d";

std::string str(int64_t v) { return std::to_string(v); }

int64_t checked_product(std::initializer_list<int64_t> sizes, const char* tensor) {
    int64_t total = 1;
    for (int64_t s : sizes) {
        if (s > kMaxTensorElements / total)
            invalid_argument(std::string(kName) + ": " + tensor + " would have more than 2^40 elements");
        total *= s;
    }
    return total;
}

// One axis ("h" or "w"): kernel, stride, pad and the output size the caller gave.
void check_axis(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t out, const char* axis) {
    const std::string a(axis);
    check_count(kernel, kName, ("kernel_" + a).c_str());
    check_count(stride, kName, ("stride_" + a).c_str());
    if (pad < 0) invalid_argument(std::string(kName) + ": pad_" + a + " must be >= 0, got " + str(pad));
    if (pad > kernel / 2)
        invalid_argument(std::string(kName) + ": pad_" + a + " " + str(pad) + " must be at most kernel_" + a + " " +
                         str(kernel) + " / 2 = " + str(kernel / 2) + " (as PyTorch requires)");
    // in <= 2^40 and pad <= kernel / 2 <= 2^39: no overflow.
    const std::string in_name = a == "h" ? "in_height" : "in_width", out_name = a == "h" ? "out_height" : "out_width";
    const int64_t room = in + 2 * pad - kernel;
    const std::string formula = "(" + in_name + " " + str(in) + " + 2*pad_" + a + " " + str(pad) + " - kernel_" + a + " " +
                                str(kernel) + ")/stride_" + a + " " + str(stride) + " + 1";
    if (room < 0) invalid_argument(std::string(kName) + ": kernel_" + a + " does not fit the padded input: " + formula + " is below 1");
    const int64_t expected = room / stride + 1;
    if (out != expected)
        invalid_argument(std::string(kName) + ": " + out_name + " " + str(out) + " does not match " + formula + " = " + str(expected));
}

void validate(const inkwell_max_pool2d_params& p) {
    check_not_null(p.input, kName, "input");
    check_not_null(p.output, kName, "output");
    check_count(p.batch, kName, "batch");
    check_count(p.channels, kName, "channels");
    check_count(p.in_height, kName, "in_height");
    check_count(p.in_width, kName, "in_width");
    const int64_t in_count = checked_product({p.batch, p.channels, p.in_height, p.in_width}, "input");
    check_axis(p.in_height, p.kernel_h, p.stride_h, p.pad_h, p.out_height, "h");
    check_axis(p.in_width, p.kernel_w, p.stride_w, p.pad_w, p.out_width, "w");
    const int64_t out_count = checked_product({p.batch, p.channels, p.out_height, p.out_width}, "output");
    check_no_overlap(FloatSpan{p.output, out_count, "output"}, FloatSpan{p.input, in_count, "input"}, kName);
}

}  // namespace

extern "C" int32_t inkwell_max_pool2d_f32(inkwell_context* context, const inkwell_max_pool2d_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("max_pool2d: params is null");
        validate(*params);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->max_pool2d(ctx.cuda_state, params));
            return;
        }
        cpu::max_pool2d_fast(ctx.pool, *params);
    });
}
