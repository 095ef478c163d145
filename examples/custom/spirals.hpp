// Two interleaved spirals in the plane, a classic problem no linear model
// solves: class 0 winds out from the centre, class 1 is the same arm turned
// by half a turn. Seeded, so every run sees the same points.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/ops.hpp>

namespace custom_example {

struct Points {
    tapegrad::Tensor<float> x;  // n x 2, coordinates within about [-1, 1]
    tapegrad::Labels y;         // 0 or 1, alternating
};

// `per_class` points per arm over `turns` turns, with Gaussian noise of
// standard deviation `noise` on each coordinate.
Points two_spirals(std::size_t per_class, double turns, double noise, std::uint64_t seed);

}  // namespace custom_example
