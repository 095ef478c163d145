// A small synthetic classification problem for the training tests.
#pragma once

#include <cstdint>
#include <random>

#include <tapegrad/data/dataset.hpp>

namespace tapegrad::testing {

// Two Gaussian blobs in 4-D (unit variance), their centres `gap` apart along
// every axis; labels alternate 0, 1, 0, ...
inline Dataset blobs(std::size_t n, std::uint64_t seed, float gap) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> noise(0, 1);
    Dataset data;
    data.inputs = xt::xtensor<float, 2>::from_shape({n, 4});
    data.labels.resize(n);
    data.num_classes = 2;
    for (std::size_t i = 0; i < n; ++i) {
        data.labels[i] = static_cast<std::int64_t>(i % 2);
        for (std::size_t f = 0; f < 4; ++f) data.inputs(i, f) = noise(rng) + (i % 2 ? gap / 2 : -gap / 2);
    }
    return data;
}

}  // namespace tapegrad::testing
