/// \file
/// Loss and accuracy of a classifier over a whole data set, without a tape.
#pragma once

#include <cstddef>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::train {

/// What evaluate() measured.
struct Score {
    /// Mean cross-entropy per sample (natural log, so nats).
    double loss = 0;      // mean cross-entropy per sample
    /// Fraction of samples whose largest logit is their label, in [0, 1].
    double accuracy = 0;  // fraction of samples whose largest logit is their label
};

/// How many rows of `logits` (batch x classes) have their maximum at the label.
/// A tie goes to the first maximum. Throws tapegrad::Error naming the shapes
/// unless `logits` is 2-D with one row per label.
std::size_t count_correct(const xt::xarray<float>& logits, const Labels& labels);

/// The mean cross-entropy and the accuracy of `model`'s logits over all of
/// `data`, in chunks of 2000 samples and with the tape off (a NoGradGuard),
/// so nothing is recorded and no gradient changes. Throws
/// tapegrad::Error on an empty data set. Throws what the model or cross_entropy throw,
/// e.g. tapegrad::Error when the features do not fit the model.
Score evaluate(nn::Module<float>& model, const Dataset& data);

}  // namespace tapegrad::train
