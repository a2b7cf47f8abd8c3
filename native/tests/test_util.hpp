// A minimal test harness: CHECK records failures and keeps going; main() prints the
// closing line "N passed, N failed" and returns non-zero on any failure.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace inkwell_test {

struct Registry {
    std::vector<std::pair<std::string, std::function<void()>>> tests;
    int failures_in_current = 0;
    static Registry& get() {
        static Registry r;
        return r;
    }
};

struct Register {
    Register(const char* name, std::function<void()> fn) { Registry::get().tests.emplace_back(name, std::move(fn)); }
};

inline int run_all() {
    int passed = 0, failed = 0;
    for (auto& [name, fn] : Registry::get().tests) {
        Registry::get().failures_in_current = 0;
        fn();
        if (Registry::get().failures_in_current == 0) {
            ++passed;
            std::printf("PASS %s\n", name.c_str());
        } else {
            ++failed;
            std::printf("FAIL %s\n", name.c_str());
        }
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

// Random 8-bit image with a row stride padded by `pad` bytes. `smooth` mixes in blocks so
// that edges and flat areas both occur (pure noise makes every pixel an edge).
inline std::vector<uint8_t> random_image(std::mt19937& rng, int64_t h, int64_t w, int64_t cn, int64_t stride,
                                         bool blocks) {
    std::vector<uint8_t> img(h * stride, 0xCD);
    std::uniform_int_distribution<int> byte(0, 255);
    int block_value = byte(rng);
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w * cn; ++x) {
            if (blocks && ((x / cn / 5 + y / 4) % 3 != 0)) {
                if ((x + y) % 7 == 0) block_value = byte(rng);
                img[y * stride + x] = static_cast<uint8_t>(block_value);
            } else {
                img[y * stride + x] = static_cast<uint8_t>(byte(rng));
            }
        }
    return img;
}

}  // namespace inkwell_test

#define INKWELL_CONCAT2(a, b) a##b
#define INKWELL_CONCAT(a, b) INKWELL_CONCAT2(a, b)
#define TEST(name)                                                                          \
    static void name();                                                                     \
    static inkwell_test::Register INKWELL_CONCAT(register_, name)(#name, name);             \
    static void name()

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            ++inkwell_test::Registry::get().failures_in_current;                            \
            std::printf("  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                   \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            ++inkwell_test::Registry::get().failures_in_current;                            \
            std::printf("  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);          \
            std::printf(__VA_ARGS__);                                                       \
            std::printf("\n");                                                              \
        }                                                                                   \
    } while (0)
