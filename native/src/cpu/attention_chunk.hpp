// The parts of attention's SIMD fast paths that do not depend on the vector width: the split
// into tasks of query rows, a task's scratch, and the scalar stages (queries in, mask, value
// tile padding, output out). attention_cpu.cpp (portable and AVX2 paths, these stages) and
// attention_avx512.cpp share them; the SIMD stages (scores, softmax, rescale, pv) are per
// width, each doing the same arithmetic per element, so the AVX2 and AVX-512 paths give the
// same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "attention_cpu.hpp"

namespace inkwell::cpu::attention_detail {

// One task: `rows` consecutive query rows of one (batch, head). q and out point at the
// first of those rows, whose rows are q_stride apart; k and v at the head's first key, whose
// rows are kv_stride apart (head_dim in BHLD, heads * head_dim in BLHD).
struct QueryChunk {
    int64_t batch_index;
    int64_t row0;
    int64_t rows;
    int64_t q_stride;
    int64_t kv_stride;
    const float* q;
    const float* k;
    const float* v;
    float* out;
};

// Runs kernel(chunk) for every chunk of at most chunk_rows query rows, in parallel. A row
// belongs to exactly one chunk, which is what makes the output independent of the thread
// count.
template <class Kernel>
void for_each_query_chunk(ThreadPool& pool, const inkwell_attention_params& p, int64_t chunk_rows,
                          const Kernel& kernel) {
    const int64_t chunks_per_head = (p.q_len + chunk_rows - 1) / chunk_rows;
    const AttentionStrides qs = attention_strides(p, p.q_len), ks = attention_strides(p, p.kv_len);
    pool.parallel_for(p.batch * p.heads * chunks_per_head, [&](int64_t task) {
        const int64_t bh = task / chunks_per_head;
        const int64_t row0 = (task % chunks_per_head) * chunk_rows;
        const int64_t b = bh / p.heads, h = bh % p.heads;
        const int64_t q_at = b * qs.batch + h * qs.head + row0 * qs.row;
        const int64_t kv_at = b * ks.batch + h * ks.head;
        QueryChunk chunk;
        chunk.batch_index = b;
        chunk.row0 = row0;
        chunk.rows = std::min(chunk_rows, p.q_len - row0);
        chunk.q_stride = qs.row;
        chunk.kv_stride = ks.row;
        chunk.q = static_cast<const float*>(p.q) + q_at;
        chunk.k = static_cast<const float*>(p.k) + kv_at;
        chunk.v = static_cast<const float*>(p.v) + kv_at;
        chunk.out = static_cast<float*>(p.out) + q_at;
        kernel(chunk);
    });
}

// The SIMD paths: a task is a chunk of up to kChunkGroups groups of kGroupRows query rows;
// keys come in tiles of kTile; dot products are summed in blocks of kScoreBlock elements.
constexpr int kGroupRows = 16;       // query rows per group: two 8-lane vectors, one 16-lane
constexpr int64_t kChunkGroups = 4;  // 64 query rows share each key and value tile
constexpr int64_t kTile = 64;        // keys per tile
constexpr int64_t kScoreBlock = 32;  // dot product elements summed before adding to the total

// pv's column blocks: at most 3 vectors, avoiding a lone 1-vector block where possible (its
// accumulators leave the FMA units idle): 4 vectors left go as 2 + 2.
constexpr int kPvMaxVectors = 3;
inline int pv_column_block(int vectors_left) {
    return vectors_left == 4 ? 2 : std::min(kPvMaxVectors, vectors_left);
}

// Query rows per task of the SIMD paths.
inline int64_t simd_chunk_rows(const inkwell_attention_params& p) {
    return std::min(kChunkGroups, (p.q_len + kGroupRows - 1) / kGroupRows) * kGroupRows;
}

// Scratch of one task, sized once per chunk.
struct ChunkScratch {
    int64_t groups = 0;
    int64_t o_stride = 0;          // head_dim rounded up to a whole vector
    std::vector<float> qt;         // [group][d][16]: queries transposed, times scale * log2(e)
    std::vector<float> o;          // [group][16][o_stride]: unnormalised output accumulators
    std::vector<float> row_max;    // [group][16]: running max of the scores, log2 units
    std::vector<float> row_sum;    // [group][16]: running sum of 2^(score - max)
    std::vector<int64_t> visible;  // [group][16]: keys each row sees; 1 for padding rows
    std::vector<int64_t> group_visible;  // [group]: the most keys any row of the group sees
    std::vector<float> p;          // [tile][16]: scores, then weights, of one tile and group
    std::vector<float> alpha;      // [16]: rescale factors of the group's rows
    std::vector<float> v_padded;   // [tile][o_stride]: value tile when head_dim % 8 != 0
};

// Sizes s for chunk c: output rows padded to o_align floats (a whole number of vectors).
void prepare_scratch(const inkwell_attention_params& p, const QueryChunk& c, int64_t o_align, ChunkScratch& s);

// Loads the chunk's queries transposed and scaled by scale * log2(e), the rows' visible key
// counts, and clears the accumulators.
void load_queries(const inkwell_attention_params& p, const QueryChunk& c, ChunkScratch& s);

// Hides keys t0 + j at or past each row's visible prefix (S = -inf).
void mask_tile(const int64_t* visible, int64_t t0, int64_t keys, float* s);

// out = O / l for the chunk's rows.
void store_output(const QueryChunk& c, int64_t d_len, const ChunkScratch& s);

// The value rows of one tile, each a whole number of vectors (s.o_stride floats) long: the
// input itself when head_dim == o_stride (its row stride left in v_stride), else a
// zero-padded copy with a row stride of o_stride.
const float* value_tile(const float* v, int64_t& v_stride, int64_t d_len, int64_t keys, ChunkScratch& s);

// The SIMD stages of one width, for one group of kGroupRows rows and one tile of keys:
//   scores   S[j][r] = q_r . k_j (qt: the group's transposed queries; k rows k_stride apart);
//   softmax  S -> 2^(S - m_new) in place, running max and sum updated, rescale factors out;
//   rescale  the group's output accumulators by those factors;
//   pv       O[r][:] += P[j][r] v_j.
struct SimdStages {
    void (*scores)(const float* qt, const float* k, int64_t k_stride, int64_t d_len, int64_t keys, float* s);
    void (*softmax)(float* s, int64_t keys, float* row_max, float* row_sum, float* alpha);
    void (*rescale)(float* o, int64_t o_stride, const float* alpha);
    void (*pv)(const float* p, const float* v, int64_t v_stride, int64_t keys, float* o, int64_t o_stride);
    int64_t o_align;  // floats per vector: output rows are padded to a multiple
};

// Runs attention with those stages: chunks of query rows in parallel, each visiting the key
// tiles in order (attention_cpu.cpp).
void attention_simd(ThreadPool& pool, const inkwell_attention_params& p, const SimdStages& stages);

// The AVX-512 path (attention_avx512.cpp); requires attention_avx512_available().
void attention_avx512(ThreadPool& pool, const inkwell_attention_params& p);

}  // namespace inkwell::cpu::attention_detail
