#include <tapegrad/data/augment.hpp>

#include <algorithm>
#include <string>

#include <tapegrad/autograd/random.hpp>

namespace tapegrad {

Tensor<float> random_shift(const Tensor<float>& images, std::size_t height, std::size_t width,
                           std::size_t max_shift, std::uint64_t seed) {
    checked_element_count("random_shift", {height, width}, sizeof(float));  // height * width must not wrap
    const Shape shape = images.shape();
    const std::size_t dims = shape.size();
    const bool rows = dims == 2 && shape[1] == height * width;
    const bool planes = dims >= 3 && shape[dims - 2] == height && shape[dims - 1] == width;
    if (!rows && !planes)
        throw Error("random_shift: expects rows of " + std::to_string(height) + "x" + std::to_string(width) +
                    " images or (batch, ..., " + std::to_string(height) + ", " + std::to_string(width) +
                    "), got shape " + shape_str(shape));
    if (max_shift >= height || max_shift >= width)
        throw Error("random_shift: a shift of up to " + std::to_string(max_shift) + " pixels does not fit " +
                    std::to_string(height) + "x" + std::to_string(width) + " images");
    if (max_shift == 0 || images.size() == 0) return images;

    const std::size_t samples = shape[0], plane = height * width, choices = 2 * max_shift + 1;
    const std::size_t planes_per_sample = images.size() / (samples * plane);  // channels
    const auto offset = [&](std::uint64_t draw) { return long(draw % choices) - long(max_shift); };
    Array<float> out = xt::zeros<float>(shape);
    const float* src = images.data().data();
    float* dst = out.data();
    for (std::size_t r = 0; r < samples; ++r) {
        // One well-mixed 64-bit draw per sample: its halves pick dy and dx,
        // the same for all of its channels. (choices is tiny, so the modulo's
        // bias is below 1e-8.)
        const std::uint64_t draw = derive_seed(seed, r);
        const long dy = offset(draw >> 32), dx = offset(draw & 0xffffffffu);
        const long h = long(height), w = long(width);
        // Destination rows and columns whose source lies inside the image.
        const long y0 = std::max(0L, dy), y1 = std::min(h, h + dy);
        const long x0 = std::max(0L, dx), x1 = std::min(w, w + dx);
        for (std::size_t p = r * planes_per_sample; p < (r + 1) * planes_per_sample; ++p)
            for (long y = y0; y < y1; ++y)
                std::copy(src + p * plane + std::size_t((y - dy) * w + (x0 - dx)),
                          src + p * plane + std::size_t((y - dy) * w + (x1 - dx)),
                          dst + p * plane + std::size_t(y * w + x0));
    }
    return Tensor<float>(std::move(out));
}

}  // namespace tapegrad
