// Small synthetic problems for the training tests: classification (blobs)
// and regression (noisy_linear_map).
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

// A regression: inputs x ~ N(0, 1) in 4-D, targets y = A x + b + noise
// (N(0, noise^2) per value) in 2-D, with the fixed map
// A = [[1, -2, 0.5, 0], [0, 1, 1, -1]], b = (0.5, -1). The best model,
// (A, b) itself, has a mean squared error of noise^2; predicting 0 has about
// 4.75 (the targets' mean square: (|A|^2 + |b|^2) / 2, plus noise^2).
inline Dataset noisy_linear_map(std::size_t n, std::uint64_t seed, float noise) {
    static constexpr float a[2][4] = {{1, -2, 0.5f, 0}, {0, 1, 1, -1}}, b[2] = {0.5f, -1};
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0, 1);
    Dataset data;
    data.inputs = xt::xtensor<float, 2>::from_shape({n, 4});
    data.targets = xt::xtensor<float, 2>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t f = 0; f < 4; ++f) data.inputs(i, f) = normal(rng);
        for (std::size_t o = 0; o < 2; ++o) {
            float y = b[o] + noise * normal(rng);
            for (std::size_t f = 0; f < 4; ++f) y += a[o][f] * data.inputs(i, f);
            data.targets(i, o) = y;
        }
    }
    return data;
}

}  // namespace tapegrad::testing
