// ResidualBlock: x + gate * fc2(tanh(fc1(x))), a block of a residual network.
//
// How to write your own module: hold the children as shared_ptrs and register
// each once with register_module (so parameters(), state_dict() and the
// printout find them), register plain tensors with register_parameter, and
// write forward() with ordinary ops: the tape records whatever you call.
#pragma once

#include <memory>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/linear.hpp>

namespace custom_example {

template <class T>
class ResidualBlock : public tapegrad::nn::Module<T> {
public:
    ResidualBlock(std::size_t width, std::size_t hidden, std::uint64_t seed)
        : fc1_(std::make_shared<tapegrad::nn::Linear<T>>(tapegrad::nn::LinearOptions(width, hidden)
                                                             .init(tapegrad::nn::Init::XavierUniform)
                                                             .seed(tapegrad::derive_seed(seed, 0)))),
          fc2_(std::make_shared<tapegrad::nn::Linear<T>>(tapegrad::nn::LinearOptions(hidden, width)
                                                             .init(tapegrad::nn::Init::XavierUniform)
                                                             .seed(tapegrad::derive_seed(seed, 1)))) {
        this->register_module("fc1", fc1_);
        this->register_module("fc2", fc2_);
        // A learnt scale on the residual branch, started small so that a deep
        // stack begins close to the identity and trains stably (as ReZero).
        gate_ = this->register_parameter("gate", tapegrad::Tensor<T>::full({1}, T(0.1), /*requires_grad=*/true));
    }

    tapegrad::Tensor<T> forward(const tapegrad::Tensor<T>& x) override {
        return x + gate_ * (*fc2_)(tapegrad::tanh((*fc1_)(x)));
    }

protected:
    std::string type_name() const override { return "ResidualBlock"; }

private:
    std::shared_ptr<tapegrad::nn::Linear<T>> fc1_, fc2_;
    tapegrad::Tensor<T> gate_;
};

}  // namespace custom_example
