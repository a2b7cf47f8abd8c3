// Scaled dot-product attention of float32 tensors on the CPU:
// out = softmax(q k^T scale + mask) v for every (batch, head). Layout (p.layout, the same
// for q, k, v and out): [B, H, L, D] (BHLD: a head's rows are head_dim apart, heads L * D
// apart) or [B, L, H, D] (BLHD: rows heads * head_dim apart, heads head_dim apart); see
// attention_strides. The arithmetic does not depend on the layout: a BLHD call gives the
// bits of a BHLD call on permuted copies, on every path.
//
// The mask is a visible prefix per query row: query i of batch b sees keys
// j < attention_visible_keys(p, b, i), which combines kv_lens[b] and the causal (top-left
// aligned, like torch's tril) limit j <= i. Every row sees at least key 0.
//
// Variants (attention_cpu.cpp):
//   attention_reference  plain loops: one row of scores in double, max-subtracted softmax.
//   attention_fast       flash-attention style single pass with an online softmax; the
//                        Lq x Lk score matrix is never materialised. AVX-512 or AVX2+FMA
//                        when the SIMD level in effect has it (simd_dispatch.hpp), else a
//                        portable scalar loop. The AVX-512 path (attention_avx512.cpp) does
//                        the AVX2 path's arithmetic per element, 16 lanes wide: the same bits.
// The fast paths compute each output row in one task with a fixed key order, so results
// are bit-identical for any thread count.
#pragma once

#include <cstdint>

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

enum class AttentionSimd {
    best,      // the widest available: AVX-512, AVX2+FMA, else portable
    portable,  // scalar C++, any CPU
    avx2,      // requires attention_avx2_available()
    avx512,    // requires attention_avx512_available(); the same bits as avx2
};

bool attention_avx2_available();
bool attention_avx512_available();

// Number of keys query row i of batch b may attend to (a prefix of the keys); >= 1 for
// validated parameters.
int64_t attention_visible_keys(const inkwell_attention_params& p, int64_t b, int64_t i);

// Element strides of a tensor of `length` rows in p's layout: element (b, h, i, d) is at
// b * batch + h * head + i * row + d.
struct AttentionStrides {
    int64_t batch, head, row;
};
AttentionStrides attention_strides(const inkwell_attention_params& p, int64_t length);

// Parameters are assumed validated (see attention.cpp).
void attention_reference(const inkwell_attention_params& p);
void attention_fast(ThreadPool& pool, const inkwell_attention_params& p, AttentionSimd simd = AttentionSimd::best);

}  // namespace inkwell::cpu
