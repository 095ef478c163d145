/// \file
/// Optimizer<T>: updates a fixed list of parameters from their gradients.
///
/// Per-parameter state (momentum buffers, Adam moments, step counts) is a
/// struct of each optimizer's own (SGDParamState, AdamParamState), one per
/// parameter, which a step reads by member. Checkpoints see it by PyTorch's
/// names ("0.momentum_buffer", "3.exp_avg"): OptimizerWithState converts it to
/// and from OptimizerState once for every optimizer, in state() / load_state().
///
/// The learning rate lives in one place, the optimizer's options (SGD's
/// SGDOptions, Adam's AdamOptions): lr() reads it there and set_lr() (what a
/// scheduler calls) writes it there, so options().lr() always shows the lr in use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

/// Optimizers (SGD, Adam, AdamW) and learning-rate schedulers (StepLR,
/// LambdaLR, LinearLR, CosineAnnealingLR, OneCycleLR, SequentialLR,
/// ChainedScheduler,
/// ReduceLROnPlateau), after torch.optim: each takes a model's parameters and
/// its options class, written the LibTorch way (`SGDOptions(0.1).momentum(0.9)`,
/// see autograd/options.hpp).
namespace tapegrad::optim {

/// Everything needed to resume an optimizer exactly: what Optimizer::state()
/// returns and Optimizer::load_state() takes (a checkpoint stores it).
template <class T>
struct OptimizerState {
    /// "<parameter index>.<buffer>", e.g. "0.momentum_buffer", "3.exp_avg".
    std::map<std::string, xt::xarray<T>> buffers;
    /// "lr" and "<parameter index>.step".
    std::map<std::string, double> scalars;
};

/// The base of every optimizer: holds the parameters and the checkpoint form
/// of their state (state(), load_state()); a subclass (SGD, Adam, AdamW, each
/// through OptimizerWithState) keeps the typed state and supplies the update
/// and the options.
///
/// The parameters are Tensor handles sharing their values with the model, so
/// step() updates the model in place. Not thread-safe: step(), zero_grad()
/// and load_state() must not run alongside a forward or backward pass over
/// the same parameters. Not copyable: two copies would step the same
/// parameters with separate state.
template <class T>
class Optimizer {
public:
    /// Takes the parameters to update, in a fixed order (a state's parameter
    /// indices refer to it). Throws tapegrad::Error when the list is empty,
    /// a parameter is undefined or the same tensor appears twice (it would
    /// be stepped twice per step()).
    explicit Optimizer(std::vector<Tensor<T>> params);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// Applies one update to every parameter that has a gradient; the others
    /// are skipped and their state is left as it was.
    virtual void step() = 0;
    void zero_grad();  ///< drops the gradients (PyTorch's set_to_none); backward() adds to what is there

    /// The learning rate in use, read from the options (changed by schedulers).
    virtual double lr() const = 0;
    /// Writes the learning rate into the options, as a scheduler does.
    /// Throws tapegrad::Error (from the options' lr setter) unless lr is finite
    /// and >= 0 (0, as in PyTorch: where cosine annealing to eta_min 0 ends).
    virtual void set_lr(double lr) = 0;
    /// The momentum a scheduler cycles (OneCycleLR): SGD's momentum, Adam's
    /// and AdamW's beta1, as PyTorch's schedulers treat them; nullopt for an
    /// optimizer without one (the default).
    virtual std::optional<double> momentum() const { return std::nullopt; }
    /// Writes that momentum into the options. Throws tapegrad::Error for an
    /// optimizer without one (the default) or a value its options refuse.
    virtual void set_momentum(double momentum);
    /// The lr the first scheduler made on this optimizer found, which every
    /// scheduler made on it scales (its base_lr): PyTorch's param group
    /// "initial_lr". Unset until a scheduler is made; OneCycleLR sets it to
    /// max_lr / div_factor. Not part of state(): making the schedulers
    /// again, as a resumed run does, sets it again.
    std::optional<double> initial_lr() const { return initial_lr_; }
    /// Sets initial_lr(), as a scheduler's constructor does. Throws
    /// tapegrad::Error unless `lr` is finite and >= 0.
    void set_initial_lr(double lr);
    /// The parameters this optimizer updates, in the order it was given them.
    const std::vector<Tensor<T>>& params() const { return params_; }

    /// A copy of the lr and of every parameter's buffers and step count,
    /// for a checkpoint. Parameters that never took a step have no entries.
    OptimizerState<T> state() const;
    /// Checks that load_state() would accept `state`, without changing anything.
    /// Throws tapegrad::Error on an unknown key, a parameter index out of range
    /// or a buffer of the wrong shape; then nothing is changed.
    void check_state(const OptimizerState<T>& state) const;
    /// Replaces the whole per-parameter state (and the lr, when `state` has
    /// one) with `state`: parameters it has no entries for start afresh.
    /// Throws tapegrad::Error as check_state() does, and then changes nothing.
    void load_state(const OptimizerState<T>& state);

protected:
    /// One parameter's state as checkpoints hold it: what OptimizerWithState
    /// converts its typed state to and from.
    struct SavedParam {
        /// Updates applied to the parameter so far (Adam's t); saved as "<index>.step".
        std::int64_t step = 0;
        /// The buffers the parameter has, by name ("momentum_buffer", "exp_avg",
        /// ...); saved as "<index>.<name>".
        std::map<std::string, xt::xarray<T>> buffers;
    };
    /// A copy of parameter `index`'s state (unchecked: index < params().size()).
    virtual SavedParam save_param(std::size_t index) const = 0;
    /// Replaces every parameter's state with `saved` (one per parameter, checked
    /// by check_state()); all or nothing.
    virtual void load_params(std::vector<SavedParam> saved) = 0;
    /// Which buffer names this optimizer keeps, for validating loaded state.
    virtual bool knows_buffer(const std::string& name) const = 0;

private:
    std::vector<Tensor<T>> params_;
    std::optional<double> initial_lr_;
};

/// An Optimizer whose per-parameter state is a `State` struct: a step count
/// `std::int64_t step` and buffers of type `std::optional<xt::xarray<T>>`
/// (unset until the optimizer makes them), which `State::buffers()` lists as
/// (name, member pointer) pairs under the names checkpoints give them. A
/// subclass reads and writes the struct by member in step(); this class does
/// the checkpoints' naming (state(), load_state()) once for all of them.
template <class T, class State>
class OptimizerWithState : public Optimizer<T> {
public:
    /// Throws tapegrad::Error as Optimizer's constructor does.
    explicit OptimizerWithState(std::vector<Tensor<T>> params)
        : Optimizer<T>(std::move(params)), states_(this->params().size()) {}
    /// The state of parameter `index` (in the order of params()), e.g.
    /// `sgd.param_state(0).momentum_buffer`. Throws tapegrad::Error unless
    /// index < params().size().
    const State& param_state(std::size_t index) const {
        if (index >= states_.size())
            throw Error("optimizer: no parameter " + std::to_string(index) + ", the optimizer has " +
                        std::to_string(states_.size()));
        return states_[index];
    }

protected:
    /// The state of parameter `index`, for step() (unchecked: index < params().size()).
    State& slot(std::size_t index) { return states_[index]; }
    /// The step count and the buffers that are set, by their names.
    typename Optimizer<T>::SavedParam save_param(std::size_t index) const override {
        typename Optimizer<T>::SavedParam saved;
        saved.step = states_[index].step;
        for (const auto& [name, buffer] : State::buffers())
            if (states_[index].*buffer) saved.buffers.emplace(name, *(states_[index].*buffer));
        return saved;
    }
    /// Moves the saved buffers into their members; names State does not list
    /// cannot occur (check_state refused them).
    void load_params(std::vector<typename Optimizer<T>::SavedParam> saved) override {
        std::vector<State> states(saved.size());
        for (std::size_t i = 0; i < saved.size(); ++i) {
            states[i].step = saved[i].step;
            for (const auto& [name, buffer] : State::buffers()) {
                auto found = saved[i].buffers.find(name);
                if (found != saved[i].buffers.end()) states[i].*buffer = std::move(found->second);
            }
        }
        states_ = std::move(states);
    }
    /// Whether State::buffers() lists `name`.
    bool knows_buffer(const std::string& name) const override {
        for (const auto& entry : State::buffers())
            if (name == entry.first) return true;
        return false;
    }

private:
    std::vector<State> states_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad::optim
