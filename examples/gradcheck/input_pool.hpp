// The inputs the gradients are checked on: real MNIST digits when the data is
// there, otherwise seeded synthetic "images" with pixels uniform in [0, 1].
// A pool holds more candidates than the batch needs, so that the ReLU check
// can pass over the ones that sit too close to the kink (see relu_kink.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/autograd/ops.hpp>

namespace gradcheck_example {

struct InputPool {
    xt::xarray<double> inputs;            // candidates x 784, values in [0, 1]
    tapegrad::Labels labels;              // one digit class per candidate
    std::vector<std::size_t> ids;         // MNIST test index, or synthetic sample number
    std::string source;                   // says where the inputs came from, for the output
    bool real = false;                    // MNIST digits rather than synthetic ones
};

// `count` MNIST test digits from `dir`, in a seeded random order. Throws
// tapegrad::Error when the files are missing or malformed.
InputPool mnist_pool(const std::string& dir, std::size_t count, std::uint64_t seed);

// `count` seeded synthetic inputs of `features` pixels with random labels.
InputPool synthetic_pool(std::size_t count, std::size_t features, std::size_t classes, std::uint64_t seed);

// The rows `chosen` of the pool as a batch.
tapegrad::Tensor<double> batch_inputs(const InputPool& pool, const std::vector<std::size_t>& chosen);
tapegrad::Labels batch_labels(const InputPool& pool, const std::vector<std::size_t>& chosen);

}  // namespace gradcheck_example
