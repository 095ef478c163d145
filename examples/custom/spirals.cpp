#include "spirals.hpp"

#include <cmath>

#include <tapegrad/autograd/random.hpp>

namespace custom_example {

using tapegrad::Tensor;

Points two_spirals(std::size_t per_class, double turns, double noise, std::uint64_t seed) {
    const std::size_t n = 2 * per_class;
    // sqrt spreads the points evenly over the disc instead of crowding the centre.
    const xt::xarray<double> position = xt::sqrt(Tensor<double>::uniform({n}, 0.0, 1.0, tapegrad::derive_seed(seed, 0)).data());
    const xt::xarray<double> jitter = Tensor<double>::normal({n, 2}, 0.0, noise, tapegrad::derive_seed(seed, 1)).data();
    const double pi = std::acos(-1.0);
    xt::xarray<float> coords = xt::zeros<float>({n, std::size_t(2)});
    Points points;
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t label = std::int64_t(i % 2);
        const double angle = 2 * pi * turns * position(i) + pi * double(label);
        coords(i, 0) = float(position(i) * std::cos(angle) + jitter(i, 0));
        coords(i, 1) = float(position(i) * std::sin(angle) + jitter(i, 1));
        points.y.push_back(label);
    }
    points.x = Tensor<float>(coords);
    return points;
}

}  // namespace custom_example
