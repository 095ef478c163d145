/// \file
/// Optimizer<T>: updates a fixed list of parameters from their gradients.
///
/// Per-parameter state (momentum buffers, Adam moments, step counts) lives in
/// one slot per parameter, so that every optimizer saves and restores it the
/// same way: state() / load_state() for checkpoints.
///
/// The learning rate lives in one place, the optimizer's options (SGD's
/// SGDOptions, Adam's AdamOptions): lr() reads it there and set_lr() (what a
/// scheduler calls) writes it there, so options().lr() always shows the lr in use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
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

/// The base of every optimizer: holds the parameters and their per-parameter
/// state; a subclass (SGD, Adam, AdamW) supplies the update and the options.
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
    /// One parameter's state, for subclasses.
    struct Slot {
        /// Named buffers of the parameter's shape ("momentum_buffer", "exp_avg",
        /// ...); saved as "<index>.<name>".
        std::map<std::string, xt::xarray<T>> buffers;
        /// Updates applied to the parameter so far (Adam's t); saved as "<index>.step".
        std::int64_t steps = 0;
    };
    /// The state of parameter `index` (unchecked: index < params().size()).
    Slot& slot(std::size_t index) { return slots_[index]; }
    /// Which buffer names this optimizer keeps, for validating loaded state.
    virtual bool knows_buffer(const std::string& name) const = 0;

private:
    std::vector<Tensor<T>> params_;
    std::vector<Slot> slots_;
    std::optional<double> initial_lr_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad::optim
