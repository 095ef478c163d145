// The chargpt example's models: makemore's transformer (karpathy/makemore)
// and a recurrent alternative, composed from tapegrad's modules. Parameter
// names are those of examples/chargpt/torch_reference.py's torch modules, so
// a .npz moves between the two unchanged.
#pragma once

#include <memory>
#include <string>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/adam.hpp>

#include "words.hpp"

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

// The loss of rows: the mean cross-entropy over their targets that are not
// ignored_target.
tapegrad::Tensor<float> loss_of(LanguageModel& model, const Rows& rows);

// The training's optimizer, makemore's (and torch_reference.py's): AdamW,
// lr 5e-4, betas (0.9, 0.99), eps 1e-8, weight decay 0.01 on every parameter.
tapegrad::optim::AdamW<float> make_optimizer(LanguageModel& model);

// One training step on a batch of rows: forward, loss, backward, one
// optimizer step; returns the loss before the step. The program and the
// bench (bench/tapegrad_bench.cpp chargpt) train with it, as
// torch_reference.py's train_step does.
double train_step(LanguageModel& model, tapegrad::optim::AdamW<float>& optimizer, const Rows& batch);

}  // namespace chargpt
