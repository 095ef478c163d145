// The smallest training setup a checkpoint can belong to, shared by
// fuzz_checkpoint (which resumes from the fuzzed file) and make_seeds (which
// trains it to write the seed checkpoints): a 2-3-2 MLP on four samples,
// with SGD (momentum buffers) or Adam (moments and step counts), early
// stopping on and a fingerprint, so resume() checks every kind of entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/trainer.hpp>

namespace tiny {

inline tapegrad::Dataset data(float shift) {
    tapegrad::Dataset d;
    d.inputs = xt::xtensor<float, 2>::from_shape({4, 2});
    d.labels.resize(4);
    d.num_classes = 2;
    for (std::size_t i = 0; i < 4; ++i) {
        d.labels[i] = static_cast<std::int64_t>(i % 2);
        d.inputs(i, 0) = float(i) - 1.5f + shift;
        d.inputs(i, 1) = (i % 2 ? 1.0f : -1.0f) * (1 + shift);
    }
    return d;
}

inline tapegrad::train::TrainerOptions options(const std::string& checkpoint) {
    return tapegrad::train::TrainerOptions().epochs(3).batch_size(3).seed(5).early_stopping_patience(2)
        .checkpoint(checkpoint).fingerprint("tiny");
}

// A fresh model and optimizer (Adam or SGD with momentum), always the same
// initial weights, and a trainer over them for `epochs` epochs (fewer to
// write an earlier checkpoint), saving to `checkpoint` unless empty.
struct Setup {
    static const tapegrad::Dataset& train_set() { static const tapegrad::Dataset d = data(0); return d; }
    static const tapegrad::Dataset& valid_set() { static const tapegrad::Dataset d = data(0.25f); return d; }

    explicit Setup(bool adam, const std::string& checkpoint = "", std::size_t epochs = 3)
        : model(tapegrad::nn::make_mlp<float>(tapegrad::nn::MLPOptions({2, 3, 2}, "tanh").seed(7))),
          optimizer(adam ? std::unique_ptr<tapegrad::optim::Optimizer<float>>(std::make_unique<tapegrad::optim::Adam<float>>(
                               model->parameters(), tapegrad::optim::AdamOptions(0.05)))
                         : std::make_unique<tapegrad::optim::SGD<float>>(model->parameters(),
                                                                         tapegrad::optim::SGDOptions(0.1).momentum(0.9))),
          trainer(*model, *optimizer, train_set(), valid_set(), options(checkpoint).epochs(epochs)) {}

    std::shared_ptr<tapegrad::nn::Sequential<float>> model;
    std::unique_ptr<tapegrad::optim::Optimizer<float>> optimizer;
    tapegrad::train::Trainer trainer;
};

}  // namespace tiny
