// dropout.
#include <cmath>
#include <random>
#include <string>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

namespace {
// The dropout mask scaled by 1 / (1 - p): 0 where an element is dropped.
// Each element draws a double in [0, 1) from the top 53 bits of
// std::mt19937_64 (whose output the standard fixes exactly, unlike its
// distributions'), so a seed gives the same mask on every platform and for
// float and double alike. An element is kept when its draw is >= p.
template <class T>
Array<T> dropout_mask(const Shape& shape, double p, std::uint64_t seed) {
    Array<T> mask = Array<T>::from_shape(shape);
    std::mt19937_64 rng(seed);
    const T kept = p < 1 ? T(1 / (1 - p)) : T(0);
    for (T& m : mask) m = double(rng() >> 11) * 0x1p-53 >= p ? kept : T(0);
    return mask;
}
}  // namespace

template <class T>
Tensor<T> dropout(const Tensor<T>& input, double p, bool training, std::uint64_t seed) {
    if (!(p >= 0 && p <= 1))
        throw Error("dropout: p must be in [0, 1], got " + detail::option_value_text(p) + " (input " +
                    shape_str(input.shape()) + ")");
    if (!training || p == 0) return input;
    Tensor<T> mask(dropout_mask<T>(input.shape(), p, seed));
    return record<T>("dropout", input.data() * mask.data(), {input},
                     [mask](const TensorList<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return TensorList<T>{mul(g, mask)};  // linear in the input: the mask is a constant
                     });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_norm 1
#include <tapegrad/autograd/ops/instantiate.hpp>
