// randn on a CUDA context against a CPU context: the same bits element for element, for
// offsets at every lane of a Philox block, counts that cut blocks at both ends, large
// counts, ranges that end with the stream at 2^64, many seeds; and the same range check.
#include <cstring>
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

// Returns the number of elements whose bits differ.
int64_t compare(uint64_t seed, uint64_t offset, int64_t count) {
    std::vector<float> cpu_out(count, -7.0f);
    inkwell_randn_params p{cpu_out.data(), count, seed, offset};
    CHECK_MSG(inkwell_randn_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());
    DeviceBuffer<float> out(std::vector<float>(count, -7.0f));
    p.out = out.get();
    const int32_t st = inkwell_randn_f32(cuda_ctx(), &p);
    CHECK_MSG(st == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    const std::vector<float> gpu_out = out.download();
    int64_t bad = 0;
    for (int64_t i = 0; i < count; ++i) {
        uint32_t a, b;
        std::memcpy(&a, &gpu_out[i], 4);
        std::memcpy(&b, &cpu_out[i], 4);
        if (a != b && bad++ < 5)
            std::printf("    element %llu: cuda %.9g (0x%08x) cpu %.9g (0x%08x)\n",
                        (unsigned long long)(offset + uint64_t(i)), double(gpu_out[i]), a, double(cpu_out[i]), b);
    }
    return bad;
}

void expect_same(uint64_t seed, uint64_t offset, int64_t count) {
    const int64_t bad = compare(seed, offset, count);
    CHECK_MSG(bad == 0, "seed %llu offset %llu count %lld: %lld elements differ", (unsigned long long)seed,
              (unsigned long long)offset, (long long)count, (long long)bad);
}

}  // namespace

TEST(cuda_randn_matches_cpu_at_every_lane_and_count) {
    for (uint64_t seed : {uint64_t(0), uint64_t(42), uint64_t(0xFFFFFFFFFFFFFFFFull), uint64_t(0x123456789ABCDEFull)})
        for (uint64_t offset : {0, 1, 2, 3, 4, 5, 7, 1001})
            for (int64_t count : {1, 2, 3, 4, 5, 6, 7, 8, 9, 1023, 4099}) expect_same(seed, offset, count);
}

TEST(cuda_randn_matches_cpu_on_large_counts) {
    expect_same(1234, 0, int64_t(1) << 22);
    expect_same(99, 3, (int64_t(1) << 21) + 5);
    expect_same(7, uint64_t(1) << 40, 4 * 64 * 64 * 2 + 1);
}

TEST(cuda_randn_matches_cpu_near_the_end_of_the_stream) {
    for (int64_t count : {1, 2, 3, 4, 5, 8, 1000, 65537}) {
        const uint64_t to_end = uint64_t(0) - uint64_t(count);  // 2^64 - count
        expect_same(5, to_end, count);  // ends exactly with the stream
        expect_same(5, to_end - 1, count);
        expect_same(5, to_end - 6, count);
    }
    expect_same(77, ~uint64_t(0), 1);  // the last element alone
    expect_same(77, uint64_t(1) << 63, 4097);
    expect_same(77, (uint64_t(1) << 34) - 6, 13);  // blocks 2^32 - 2 .. 2^32 + 1: the counter's high word
}

TEST(cuda_randn_random_ranges) {
    std::mt19937_64 rng(3);
    for (int i = 0; i < 40; ++i) {
        const uint64_t seed = rng(), offset = rng() >> (rng() % 64);
        const int64_t count = 1 + int64_t(rng() % 20000);
        if (offset > ~uint64_t(0) - uint64_t(count) + 1) continue;
        expect_same(seed, offset, count);
    }
}

TEST(cuda_randn_rejects_what_the_cpu_rejects) {
    DeviceBuffer<float> out(16);
    inkwell_randn_params p{out.get(), 2, 1, ~uint64_t(0)};  // past 2^64
    CHECK(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.offset = 0;
    p.count = -1;
    CHECK(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.count = 4;
    p.out = nullptr;
    CHECK(inkwell_randn_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
}
