// Checks of the training tests that compare one run with another.
#pragma once

#include <doctest/doctest.h>

#include <xtensor/xmath.hpp>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/train/history.hpp>

namespace tapegrad::testing {

// Every tensor of `reference` within `tolerance` (largest difference) of the
// one of its name in `state`; the callers justify their tolerance.
inline void check_states_close(const nn::StateDict<float>& state, const nn::StateDict<float>& reference,
                               float tolerance) {
    for (const auto& [name, values] : reference) {
        CAPTURE(name);
        CHECK(xt::amax(xt::abs(state.at(name) - values))() < tolerance);
    }
}

// A resumed run ended bit for bit where the uninterrupted one did: weights,
// buffers, the optimizer's state and every epoch's losses.
inline void check_resumed_exactly(const nn::Module<float>& resumed_model, const optim::Optimizer<float>& resumed_optimizer,
                                  const train::History& resumed, const nn::Module<float>& model,
                                  const optim::Optimizer<float>& optimizer, const train::History& whole) {
    CHECK(resumed_model.state_dict() == model.state_dict());
    CHECK(resumed_optimizer.state().buffers == optimizer.state().buffers);
    REQUIRE(resumed.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
        CHECK(resumed[i].train_loss == whole[i].train_loss);
        CHECK(resumed[i].valid_loss == whole[i].valid_loss);
    }
}

}  // namespace tapegrad::testing
