// Helpers shared by test_group_norm and test_layer_norm.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cpu/norm_cpu.hpp"
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

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The fast path (run_fast(threads, isa), every ISA at 1 and 4 threads) against ref within the
// per-output bound tol; checks that the thread counts give the same bits, prints the first
// outputs out of bound and returns how many there are (NaN where ref is NaN counts as equal).
template <class RunFast>
int64_t count_outside_bound(const std::vector<float>& ref, const std::vector<double>& tol, const char* label,
                            RunFast run_fast) {
    int64_t bad = 0;
    for (inkwell::cpu::NormIsa isa :
         {inkwell::cpu::NormIsa::kAuto, inkwell::cpu::NormIsa::kAvx2, inkwell::cpu::NormIsa::kPortable}) {
        const std::vector<float> one = run_fast(1, isa), four = run_fast(4, isa);
        CHECK_MSG(same_bits(one, four), "%s: 1 and 4 threads differ (isa %d)", label, int(isa));
        for (size_t i = 0; i < ref.size(); ++i) {
            const bool both_nan = std::isnan(one[i]) && std::isnan(ref[i]);
            const double err = std::fabs(double(one[i]) - double(ref[i]));
            if (!both_nan && !(err <= tol[i]) && !(one[i] == ref[i]) && bad++ < 10)
                std::printf("    %s isa %d: output %zu is %.9g, reference %.9g, bound %.3g\n", label, int(isa), i,
                            double(one[i]), double(ref[i]), tol[i]);
        }
    }
    return bad;
}

}  // namespace inkwell_test
