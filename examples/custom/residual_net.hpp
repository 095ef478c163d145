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
        : stem_(std::make_shared<tapegrad::nn::Linear<T>>(tapegrad::nn::LinearOptions(inputs, width)
                                                              .init(tapegrad::nn::Init::KaimingUniform)
                                                              .seed(tapegrad::derive_seed(seed, 0)))),
          head_(std::make_shared<tapegrad::nn::Linear<T>>(tapegrad::nn::LinearOptions(width, classes)
                                                              .init(tapegrad::nn::Init::XavierUniform)
                                                              .seed(tapegrad::derive_seed(seed, 1)))) {
        this->register_module("stem", stem_);
        for (std::size_t b = 0; b < blocks; ++b) {
            blocks_.push_back(std::make_shared<ResidualBlock<T>>(width, width, tapegrad::derive_seed(seed, 2 + b)));
            this->register_module("block" + std::to_string(b), blocks_.back());
        }
        this->register_module("head", head_);
    }

    tapegrad::Tensor<T> forward(const tapegrad::Tensor<T>& x) override {
        tapegrad::Tensor<T> h = tapegrad::tanh((*stem_)(x));
        for (auto& block : blocks_) h = (*block)(h);
        return (*head_)(h);
    }

protected:
    std::string type_name() const override { return "ResidualNet"; }

private:
    std::shared_ptr<tapegrad::nn::Linear<T>> stem_;
    std::vector<std::shared_ptr<ResidualBlock<T>>> blocks_;
    std::shared_ptr<tapegrad::nn::Linear<T>> head_;
};

}  // namespace custom_example
