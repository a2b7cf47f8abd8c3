// Helpers shared by test_group_norm and test_layer_norm.
#pragma once

#include <cstring>
#include <vector>

#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

namespace inkwell_test {

// Calls the f32, f16 and bf16 entries (call(type, params)) with q: every one must refuse it
// with INKWELL_INVALID_ARGUMENT and a message containing fragment, and leave out (refilled
// with -7 before each call) untouched.
template <class Params, class Call>
void expect_refused_by_every_type(const Params& q, std::vector<float>& out, const char* fragment, Call call) {
    for (int32_t type : {INKWELL_ELEMENT_F32, INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        std::fill(out.begin(), out.end(), -7.0f);
        const int32_t s = call(type, q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "%s: status %d, message '%s', wanted '%s'", inkwell::element_type_name(type), s, msg, fragment);
        bool untouched = true;
        for (float v : out) untouched = untouched && v == -7.0f;
        CHECK_MSG(untouched, "%s: a refused call ('%s') wrote output", inkwell::element_type_name(type), fragment);
    }
}

}  // namespace inkwell_test
