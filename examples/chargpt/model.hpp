// The chargpt example's models: makemore's transformer (karpathy/makemore)
// and a recurrent alternative, composed from tapegrad's modules. Parameter
// names are those of examples/chargpt/torch_reference.py's torch modules, so
// a .npz moves between the two unchanged.
#pragma once

#include <memory>
#include <string>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/nn/module.hpp>

namespace chargpt {

// A model of the next token: logits (batch, time, vocab) for the tokens
// (batch, time) seen so far, position t seeing tokens 0..t only.
class LanguageModel : public tapegrad::nn::Module<float> {
public:
    virtual tapegrad::Tensor<float> logits(const tapegrad::Indices& tokens) = 0;
    // logits() of a tensor of token ids (whole numbers), so that the model
    // also runs as a Module.
    tapegrad::Tensor<float> forward(const tapegrad::Tensor<float>& tokens) override;
};

// "gpt": makemore's Transformer at n_embd 64, 4 heads, 2 pre-LN blocks, an
// MLP 64-256-64 with tanh GELU; "lstm" or "gru": an embedding of 64, one
// recurrent layer of 128 and a linear head. PyTorch's default
// initialisation, from `seed`. Throws tapegrad::Error for another kind.
std::shared_ptr<LanguageModel> make_model(const std::string& kind, std::uint64_t seed);

}  // namespace chargpt
