// Loss and accuracy of a classifier over a whole data set, without a tape.
#pragma once

#include <cstddef>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::train {

struct Score {
    double loss = 0;      // mean cross-entropy per sample
    double accuracy = 0;  // fraction of samples whose largest logit is their label
};

// How many rows of `logits` (batch x classes) have their maximum at the label.
std::size_t count_correct(const xt::xarray<float>& logits, const Labels& labels);

// Throws tapegrad::Error on an empty data set.
Score evaluate(nn::Module<float>& model, const Dataset& data);

}  // namespace tapegrad::train
