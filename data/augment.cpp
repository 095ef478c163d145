#include <tapegrad/data/augment.hpp>

#include <algorithm>
#include <string>

#include <tapegrad/autograd/random.hpp>

namespace tapegrad {

Tensor<float> random_shift(const Tensor<float>& images, std::size_t height, std::size_t width,
                           std::size_t max_shift, std::uint64_t seed) {
    if (images.dim() != 2 || images.shape()[1] != height * width)
        throw Error("random_shift: expects rows of " + std::to_string(height) + "x" + std::to_string(width) +
                    " images, got shape " + shape_str(images.shape()));
    if (max_shift >= height || max_shift >= width)
        throw Error("random_shift: a shift of up to " + std::to_string(max_shift) + " pixels does not fit " +
                    std::to_string(height) + "x" + std::to_string(width) + " images");
    if (max_shift == 0) return images;

    const std::size_t rows = images.shape()[0], choices = 2 * max_shift + 1;
    const auto offset = [&](std::uint64_t draw) { return long(draw % choices) - long(max_shift); };
    Array<float> out = xt::zeros<float>({rows, height * width});
    const float* src = images.data().data();
    float* dst = out.data();
    for (std::size_t r = 0; r < rows; ++r) {
        // One well-mixed 64-bit draw per image: its halves pick dy and dx.
        // (choices is tiny, so the modulo's bias is below 1e-8.)
        const std::uint64_t draw = derive_seed(seed, r);
        const long dy = offset(draw >> 32), dx = offset(draw & 0xffffffffu);
        const long h = long(height), w = long(width);
        // Destination rows and columns whose source lies inside the image.
        const long y0 = std::max(0L, dy), y1 = std::min(h, h + dy);
        const long x0 = std::max(0L, dx), x1 = std::min(w, w + dx);
        for (long y = y0; y < y1; ++y)
            std::copy(src + r * height * width + std::size_t((y - dy) * w + (x0 - dx)),
                      src + r * height * width + std::size_t((y - dy) * w + (x1 - dx)),
                      dst + r * height * width + std::size_t(y * w + x0));
    }
    return Tensor<float>(std::move(out));
}

}  // namespace tapegrad
