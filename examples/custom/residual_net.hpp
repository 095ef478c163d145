// ResidualNet: a network that is not a Sequential. A stem lifts the input to
// `width` features, residual blocks refine them, a head maps them to logits.
#pragma once

#include <string>
#include <vector>

#include "residual_block.hpp"

namespace custom_example {

template <class T>
class ResidualNet : public tapegrad::nn::Module<T> {
public:
    ResidualNet(std::size_t inputs, std::size_t width, std::size_t blocks, std::size_t classes, std::uint64_t seed)
        // Kaiming's larger stem weights turn 2-D points into features that
        // vary fast enough to follow a spiral from the first step.
        : stem_(this->register_module("stem", linear(inputs, width, tapegrad::nn::Init::KaimingUniform,
                                                     tapegrad::derive_seed(seed, 0)))) {
        for (std::size_t b = 0; b < blocks; ++b)
            blocks_.push_back(this->register_module(
                "block" + std::to_string(b), std::make_shared<ResidualBlock<T>>(width, width, tapegrad::derive_seed(seed, 2 + b))));
        head_ = this->register_module(
            "head", linear(width, classes, tapegrad::nn::Init::XavierUniform, tapegrad::derive_seed(seed, 1)));
    }

    tapegrad::Tensor<T> forward(const tapegrad::Tensor<T>& x) override {
        tapegrad::Tensor<T> h = tapegrad::tanh((*stem_)(x));
        for (auto& block : blocks_) h = (*block)(h);
        return (*head_)(h);
    }

private:
    static std::shared_ptr<tapegrad::nn::Linear<T>> linear(std::size_t in, std::size_t out, tapegrad::nn::Init init,
                                                           std::uint64_t seed) {
        return std::make_shared<tapegrad::nn::Linear<T>>(tapegrad::nn::LinearOptions(in, out).init(init).seed(seed));
    }

    std::shared_ptr<tapegrad::nn::Linear<T>> stem_;
    std::vector<std::shared_ptr<ResidualBlock<T>>> blocks_;
    std::shared_ptr<tapegrad::nn::Linear<T>> head_;
};

}  // namespace custom_example
