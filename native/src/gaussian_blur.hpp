#pragma once

#include <cstdint>
#include <vector>

namespace inkwell {

// Validates ksize/sigma as inkwell_gaussian_blur_params documents them and returns the
// Q8 kernel. `what` prefixes error messages.
std::vector<int32_t> resolve_gaussian_kernel(int32_t ksize, double sigma, const char* what);

}  // namespace inkwell
