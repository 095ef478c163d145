// ResidualBlock: x + gate * fc2(tanh(fc1(x))), a block of a residual network.
//
// How to write your own module: derive from Module<T>, register each child
// once with register_module (so parameters(), state_dict() and the printout
// find them; it returns the child, typed, to keep in a member), register
// plain tensors with register_parameter, and write forward() with ordinary
// ops: the tape records whatever you call. The printout's name is the
// class's ("ResidualBlock") unless type_name() says otherwise.
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
        : fc1_(this->register_module("fc1", linear(width, hidden, tapegrad::derive_seed(seed, 0)))),
          fc2_(this->register_module("fc2", linear(hidden, width, tapegrad::derive_seed(seed, 1)))),
          // A learnt scale on the residual branch, started small so that a deep
          // stack begins close to the identity and trains stably (as ReZero).
          gate_(this->register_parameter("gate", tapegrad::Tensor<T>::full({1}, T(0.1)))) {}

    tapegrad::Tensor<T> forward(const tapegrad::Tensor<T>& x) override {
        return x + gate_ * (*fc2_)(tapegrad::tanh((*fc1_)(x)));
    }

private:
    static std::shared_ptr<tapegrad::nn::Linear<T>> linear(std::size_t in, std::size_t out, std::uint64_t seed) {
        return std::make_shared<tapegrad::nn::Linear<T>>(
            tapegrad::nn::LinearOptions(in, out).init(tapegrad::nn::Init::XavierUniform).seed(seed));
    }

    std::shared_ptr<tapegrad::nn::Linear<T>> fc1_, fc2_;
    tapegrad::Tensor<T> gate_;
};

}  // namespace custom_example
