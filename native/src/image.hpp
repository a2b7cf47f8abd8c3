// Checked views of inkwell_image_u8: every kernel entry validates its images through
// check_image() so that a bad size or stride is an error message, never a stray write.
#pragma once

#include <cstdint>
#include <string>

#include "error.hpp"

namespace inkwell {

// Largest height or width accepted: keeps every index and row offset in int64 with room
// for the padded scratch buffers, and every Canny magnitude map index in range.
constexpr int64_t kMaxImageSide = int64_t(1) << 20;

struct ImageView {
    uint8_t* data;
    int64_t height;
    int64_t width;
    int64_t channels;
    int64_t stride;  // bytes between rows

    uint8_t* row(int64_t y) const { return data + y * stride; }
    int64_t row_bytes() const { return width * channels; }
    // First byte after the last pixel (the last row needs no padding after it).
    const uint8_t* end() const { return data + (height - 1) * stride + row_bytes(); }
};

inline ImageView check_image(const inkwell_image_u8& image, const char* name) {
    std::string n(name);
    if (image.data == nullptr) invalid_argument(n + ".data is null");
    if (image.height <= 0 || image.height > kMaxImageSide)
        invalid_argument(n + ".height must be 1.." + std::to_string(kMaxImageSide) + ", got " +
                         std::to_string(image.height));
    if (image.width <= 0 || image.width > kMaxImageSide)
        invalid_argument(n + ".width must be 1.." + std::to_string(kMaxImageSide) + ", got " +
                         std::to_string(image.width));
    if (image.channels < 1 || image.channels > 4)
        invalid_argument(n + ".channels must be 1..4, got " + std::to_string(image.channels));
    if (image.row_stride < image.width * image.channels)
        invalid_argument(n + ".row_stride " + std::to_string(image.row_stride) + " is less than width * channels = " +
                         std::to_string(image.width * image.channels));
    if (image.row_stride > (int64_t(1) << 40) / image.height)
        invalid_argument(n + ".row_stride " + std::to_string(image.row_stride) + " times height " +
                         std::to_string(image.height) + " exceeds 2^40 bytes");
    return ImageView{image.data, image.height, image.width, image.channels, image.row_stride};
}

inline bool overlaps(const ImageView& a, const ImageView& b) {
    return a.data < b.end() && b.data < a.end();
}

inline void require_same_size(const ImageView& src, const ImageView& dst, const char* what) {
    if (src.height != dst.height || src.width != dst.width)
        invalid_argument(std::string(what) + ": dst is " + std::to_string(dst.height) + "x" +
                         std::to_string(dst.width) + " but src is " + std::to_string(src.height) + "x" +
                         std::to_string(src.width));
    if (overlaps(src, dst)) invalid_argument(std::string(what) + ": dst overlaps src");
}

}  // namespace inkwell
