/// \file
/// Learning-rate schedules acting on an optimizer's lr, as torch.optim.lr_scheduler.
/// They change the lr where it lives, in the optimizer's options (set_lr), so
/// optimizer.options().lr() shows the scheduled value. Each exposes its
/// counters through state()/load_state() so a checkpoint can store them among
/// its named scalars.
///
/// Every scheduler but ReduceLROnPlateau is an LRScheduler and follows torch
/// 2.x's step() exactly: its constructor already sets the lr of epoch 0
/// (LinearLR's start_factor * lr, OneCycleLR's max_lr / div_factor), each
/// step() moves to the next epoch, and the "chainable" ones (StepLR,
/// LinearLR, CosineAnnealingLR) compute the next lr from the current one, so
/// that ChainedScheduler composes them; LambdaLR and OneCycleLR compute it
/// from base_lr(). A resumed run makes its schedulers again (over an
/// optimizer with the run's options), loads the optimizer's state, then each
/// scheduler's state().
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

/// A scheduler's counters by name ("last_epoch", ...), as state() returns
/// and load_state() takes them.
using SchedulerState = std::map<std::string, double>;

template <class T>
class CompositeScheduler;
template <class T>
class SequentialLR;

/// The base of the epoch-counting schedulers (all but ReduceLROnPlateau), as
/// torch.optim.lr_scheduler.LRScheduler: holds the optimizer, base_lr() and
/// last_epoch(). Holds a reference to the optimizer, which must outlive it.
/// Not copyable.
template <class T>
class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;

    /// Ends an epoch (or a batch, for a per-batch schedule such as
    /// OneCycleLR): last_epoch() moves on by one and the optimizer gets that
    /// epoch's lr. Throws tapegrad::Error, from Optimizer::set_lr(), if the
    /// lr is not finite and >= 0, and then changes nothing.
    virtual void step();
    /// The epoch whose lr the optimizer holds: 0 once made, + 1 per step().
    std::int64_t last_epoch() const { return last_epoch_; }
    /// The lr the schedule scales: the optimizer's initial_lr(), which the
    /// first scheduler made on it set to the lr it found.
    double base_lr() const { return base_lr_; }
    /// The optimizer whose lr this scheduler sets.
    Optimizer<T>& optimizer() const { return optimizer_; }

    /// {"last_epoch"} and the scheduler's own counters, for a checkpoint.
    virtual SchedulerState state() const;
    /// Restores what state() returned; the lr itself comes back with the
    /// optimizer's state. Throws tapegrad::Error when a key of state() is
    /// missing or a counter is not a whole number (last_epoch may be -1: a
    /// scheduler SequentialLR has not reached yet), and then changes nothing;
    /// other keys are ignored.
    virtual void load_state(const SchedulerState& state);

protected:
    /// Sets the optimizer's initial_lr() to its lr unless a scheduler did
    /// already, and takes it as base_lr(); last_epoch() is -1 until the
    /// subclass's constructor calls initial_step().
    explicit LRScheduler(Optimizer<T>& optimizer);
    /// The lr of `epoch`, last_epoch() + 1 (or 0 in initial_step()), as
    /// PyTorch's get_lr(): from the optimizer's current lr for a chainable
    /// schedule, from base_lr() for the others.
    virtual double lr_at(std::int64_t epoch) const = 0;
    /// The lr of `epoch` from base_lr() alone, as PyTorch's
    /// _get_closed_form_lr(), which SequentialLR uses to restart a schedule at
    /// its milestone; lr_at(epoch) by default (schedules without a chainable form).
    virtual double closed_form_lr(std::int64_t epoch) const { return lr_at(epoch); }
    /// Moves to `epoch`: sets the lr (closed_form_lr or lr_at) and then
    /// last_epoch(). OneCycleLR also sets the momentum.
    virtual void move_to(std::int64_t epoch, bool closed_form);
    /// Epoch 0, PyTorch's _initial_step(): what a subclass's constructor ends with.
    void initial_step() { move_to(0, false); }
    /// The epoch counter, for subclasses that step otherwise (the composites).
    std::int64_t last_epoch_ = -1;

private:
    friend class CompositeScheduler<T>;
    friend class SequentialLR<T>;
    // SequentialLR takes back the initial steps of the schedulers it is
    // given (PyTorch's recursive_undo); a composite recurses into its own.
    virtual void undo_initial_step() { --last_epoch_; }
    // Makes epoch 0 again (a composite: steps its schedulers).
    virtual void redo_initial_step() { initial_step(); }
    virtual bool is_composite() const { return false; }

    Optimizer<T>& optimizer_;
    double base_lr_;
};

/// A scheduler made from an options class, which it keeps: the base of
/// StepLR, LinearLR, CosineAnnealingLR and OneCycleLR.
template <class T, class Options>
class ScheduleWithOptions : public LRScheduler<T> {
public:
    /// The options this scheduler was made with.
    const Options& options() const { return options_; }

protected:
    /// Keeps `options`; the subclass's constructor then calls initial_step().
    ScheduleWithOptions(Optimizer<T>& optimizer, const Options& options)
        : LRScheduler<T>(optimizer), options_(options) {}
    /// The options, for the subclass's lr_at().
    Options options_;
};

/// StepLROptions(/*step_size=*/30).gamma(0.1)
///
/// Each option has a getter and a chainable setter of its name; a setter
/// throws tapegrad::Error on a value outside the option's range.
class StepLROptions {
public:
    /// The name error messages give this class.
    static constexpr const char* options_name = "StepLROptions";
    /// Throws tapegrad::Error unless step_size > 0.
    explicit StepLROptions(std::int64_t step_size) { this->step_size(step_size); }
    /// Calls to StepLR::step() (epochs) between two cuts of the lr; required.
    TAPEGRAD_OPTION(std::int64_t, step_size, value > 0, "> 0");
    /// The factor each cut multiplies the lr by; default 0.1.
    TAPEGRAD_OPTION(double, gamma, allowed::positive_finite(value), "finite and > 0") = 0.1;
};

/// Multiplies the lr by gamma every step_size calls to step() (one per
/// epoch), as torch.optim.lr_scheduler.StepLR; chainable: it multiplies the
/// current lr, so it composes with other changes to it.
template <class T>
class StepLR : public ScheduleWithOptions<T, StepLROptions> {
public:
    /// Leaves the optimizer's lr as it is until the first cut.
    StepLR(Optimizer<T>& optimizer, const StepLROptions& options);

protected:
    /// The current lr, times gamma at a multiple of step_size.
    double lr_at(std::int64_t epoch) const override;
    /// base_lr * gamma^(epoch / step_size).
    double closed_form_lr(std::int64_t epoch) const override;
};

/// LambdaLR: lr = base_lr * lr_lambda(epoch), as torch.optim.lr_scheduler.LambdaLR.
///
/// \code
///   optim::LambdaLR<float> warmup(adam, [](std::int64_t epoch) { return std::min(1.0, (epoch + 1) / 100.0); });
/// \endcode
template <class T>
class LambdaLR : public LRScheduler<T> {
public:
    /// A factor of the epoch (0, 1, ...).
    using Lambda = std::function<double(std::int64_t epoch)>;
    /// Sets the lr of epoch 0, base_lr * lr_lambda(0). Throws tapegrad::Error
    /// for an empty lr_lambda, or (from set_lr) when that lr is not finite
    /// and >= 0.
    LambdaLR(Optimizer<T>& optimizer, Lambda lr_lambda);

protected:
    /// base_lr * lr_lambda(epoch).
    double lr_at(std::int64_t epoch) const override;

private:
    Lambda lr_lambda_;
};

/// LinearLROptions().start_factor(0.01).total_iters(100): a linear warmup.
///
/// Each option has a getter and a chainable setter of its name; a setter
/// throws tapegrad::Error on a value outside the option's range.
class LinearLROptions {
public:
    /// The name error messages give this class.
    static constexpr const char* options_name = "LinearLROptions";
    /// The factor of epoch 0; default 1/3, as PyTorch.
    TAPEGRAD_OPTION(double, start_factor, value > 0 && value <= 1, "in (0, 1]") = 1.0 / 3;
    /// The factor from epoch total_iters on; default 1.
    TAPEGRAD_OPTION(double, end_factor, value >= 0 && value <= 1, "in [0, 1]") = 1;
    /// The epochs the factor takes from start_factor to end_factor; default 5.
    TAPEGRAD_OPTION(std::int64_t, total_iters, value > 0, "> 0") = 5;
};

/// Multiplies base_lr by a factor going linearly from start_factor (epoch 0)
/// to end_factor (epoch total_iters, and after), as
/// torch.optim.lr_scheduler.LinearLR, in its chainable form: each step
/// multiplies the current lr by the ratio of two factors.
template <class T>
class LinearLR : public ScheduleWithOptions<T, LinearLROptions> {
public:
    /// Sets the lr of epoch 0: the current lr times start_factor.
    LinearLR(Optimizer<T>& optimizer, const LinearLROptions& options = LinearLROptions());

protected:
    /// PyTorch's get_lr: lr * start_factor at 0, lr * (1 + (end - start) /
    /// (total_iters * start + (epoch - 1) * (end - start))) up to total_iters,
    /// lr after.
    double lr_at(std::int64_t epoch) const override;
    /// base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters).
    double closed_form_lr(std::int64_t epoch) const override;
};

/// CosineAnnealingLROptions(/*T_max=*/100).eta_min(1e-5)
///
/// Each option has a getter and a chainable setter of its name; a setter
/// throws tapegrad::Error on a value outside the option's range.
class CosineAnnealingLROptions {
public:
    /// The name error messages give this class.
    static constexpr const char* options_name = "CosineAnnealingLROptions";
    /// Throws tapegrad::Error unless T_max > 0.
    explicit CosineAnnealingLROptions(std::int64_t T_max) { this->T_max(T_max); }
    /// The epochs from base_lr down to eta_min (half a cosine period); required.
    TAPEGRAD_OPTION(std::int64_t, T_max, value > 0, "> 0");
    /// The lr at epoch T_max; default 0.
    TAPEGRAD_OPTION(double, eta_min, allowed::non_negative_finite(value), "finite and >= 0") = 0;
};

/// Cosine annealing, as torch.optim.lr_scheduler.CosineAnnealingLR:
/// eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, computed
/// as PyTorch's step() does, recursively from the current lr (so it chains),
/// and rising again after T_max (a cosine, no restart).
template <class T>
class CosineAnnealingLR : public ScheduleWithOptions<T, CosineAnnealingLROptions> {
public:
    /// Leaves the lr as it is (epoch 0).
    CosineAnnealingLR(Optimizer<T>& optimizer, const CosineAnnealingLROptions& options);

protected:
    /// PyTorch's get_lr: the current lr moved by the ratio of two cosines.
    double lr_at(std::int64_t epoch) const override;
    /// eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.
    double closed_form_lr(std::int64_t epoch) const override;
};

/// OneCycleLROptions(/*max_lr=*/0.01, /*total_steps=*/1000).pct_start(0.25)
///
/// Each option has a getter and a chainable setter of its name; a setter
/// throws tapegrad::Error on a value outside the option's range.
class OneCycleLROptions {
public:
    /// How each phase goes from its start to its end value.
    enum class Anneal { Cos, Linear };
    /// The name error messages give this class.
    static constexpr const char* options_name = "OneCycleLROptions";
    /// Throws tapegrad::Error unless max_lr is finite and > 0 and total_steps > 0.
    OneCycleLROptions(double max_lr, std::int64_t total_steps) {
        this->max_lr(max_lr);
        this->total_steps(total_steps);
    }
    /// The peak lr; required.
    TAPEGRAD_OPTION(double, max_lr, allowed::positive_finite(value), "finite and > 0");
    /// The steps of the cycle (PyTorch's total_steps, or epochs * steps_per_epoch); required.
    TAPEGRAD_OPTION(std::int64_t, total_steps, value > 0, "> 0");
    /// The share of the steps spent raising the lr; default 0.3.
    TAPEGRAD_OPTION(double, pct_start, value >= 0 && value <= 1, "in [0, 1]") = 0.3;
    /// Cosine (the default) or linear annealing.
    TAPEGRAD_OPTION_ANY(Anneal, anneal_strategy) = Anneal::Cos;
    /// Cycle the optimizer's momentum (SGD's momentum, Adam's beta1) inversely
    /// to the lr between max_momentum and base_momentum; default true, as PyTorch.
    TAPEGRAD_OPTION_ANY(bool, cycle_momentum) = true;
    /// The momentum at the lr's peak; default 0.85.
    TAPEGRAD_OPTION(double, base_momentum, allowed::zero_to_below_one(value), "in [0, 1)") = 0.85;
    /// The momentum at the start and the end; default 0.95.
    TAPEGRAD_OPTION(double, max_momentum, allowed::zero_to_below_one(value), "in [0, 1)") = 0.95;
    /// The first lr is max_lr / div_factor; default 25.
    TAPEGRAD_OPTION(double, div_factor, allowed::positive_finite(value), "finite and > 0") = 25;
    /// The last lr is max_lr / div_factor / final_div_factor; default 1e4.
    TAPEGRAD_OPTION(double, final_div_factor, allowed::positive_finite(value), "finite and > 0") = 1e4;
    /// Three phases (up, down to the first lr, then down to the last) as in
    /// the paper, instead of fastai's two (up, then down to the last); default false.
    TAPEGRAD_OPTION_ANY(bool, three_phase) = false;
};

/// The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR: step() after
/// every batch, total_steps times; the lr rises from max_lr / div_factor to
/// max_lr over pct_start of the steps, then falls to max_lr / div_factor /
/// final_div_factor, and the momentum moves the other way. Sets the
/// optimizer's initial_lr() to max_lr / div_factor. The total_steps-th
/// step() goes one past the schedule's end, as PyTorch's: its lr
/// extrapolates the last phase, and where linear annealing takes it below 0
/// (PyTorch sets that negative lr) it is 0 here, as set_lr refuses < 0.
/// A further step() throws tapegrad::Error, as PyTorch's does.
template <class T>
class OneCycleLR : public ScheduleWithOptions<T, OneCycleLROptions> {
public:
    /// Sets the first lr and (with cycle_momentum) max_momentum. Throws
    /// tapegrad::Error with cycle_momentum when the optimizer has no momentum
    /// (Optimizer::momentum()), and then changes nothing.
    OneCycleLR(Optimizer<T>& optimizer, const OneCycleLROptions& options);
    /// Also sets the momentum of the restored epoch (PyTorch keeps it in the
    /// optimizer's state; here the options the optimizer is made with hold it).
    void load_state(const SchedulerState& state) override;

protected:
    /// The lr of step `epoch`; throws tapegrad::Error past total_steps, as PyTorch.
    double lr_at(std::int64_t epoch) const override;
    /// Sets the lr and, with cycle_momentum, the momentum.
    void move_to(std::int64_t epoch, bool closed_form) override;

private:
    // (lr, momentum) at step `epoch`.
    std::pair<double, double> at(std::int64_t epoch) const;
};

/// What ChainedScheduler and SequentialLR share: the schedulers they hold,
/// their state and their restart. Use it through them.
template <class T>
class CompositeScheduler : public LRScheduler<T> {
public:
    /// "last_epoch" and each scheduler's state, its keys prefixed by its
    /// index ("0.last_epoch").
    SchedulerState state() const override;
    /// Restores what state() returned, all or nothing.
    void load_state(const SchedulerState& state) override;

protected:
    /// Takes (shared) ownership of `schedulers`, all made on `optimizer` (the
    /// first one's when null). `name` names the composite in errors. Throws
    /// tapegrad::Error when there is no scheduler, one is null or they are
    /// made on different optimizers.
    CompositeScheduler(const char* name, std::vector<std::shared_ptr<LRScheduler<T>>> schedulers,
                       Optimizer<T>* optimizer);
    /// A composite has no lr of its own: throws tapegrad::Error.
    double lr_at(std::int64_t epoch) const override;
    /// The schedulers, in order.
    std::vector<std::shared_ptr<LRScheduler<T>>> schedulers_;

private:
    void undo_initial_step() override;
    void redo_initial_step() override { this->step(); }  // PyTorch's _initial_step(): a step()
    bool is_composite() const override { return true; }
    const char* name_;
};

/// Steps every scheduler it holds once per step(), in order, as
/// torch.optim.lr_scheduler.ChainedScheduler: chainable schedules
/// (StepLR, LinearLR, CosineAnnealingLR) then multiply their effects.
template <class T>
class ChainedScheduler : public CompositeScheduler<T> {
public:
    /// Takes (shared) ownership of `schedulers`, made on one optimizer (each
    /// made its epoch 0 already). Throws tapegrad::Error when there is none,
    /// one is null, or they are made on different optimizers.
    explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler<T>>> schedulers);
    /// Steps each scheduler, in order. A scheduler that throws ends the step there.
    void step() override;
};

/// Runs schedulers one after another, as torch.optim.lr_scheduler.SequentialLR:
/// schedulers[i] from epoch milestones[i - 1] on, restarted there at its
/// epoch 0 from base_lr() (its closed form), e.g. LinearLR warmup for 5
/// epochs, then CosineAnnealingLR.
template <class T>
class SequentialLR : public CompositeScheduler<T> {
public:
    /// Takes (shared) ownership of `schedulers`, all made on `optimizer`
    /// (each made its epoch 0 already): puts the lr back to initial_lr(),
    /// takes their epoch 0 back and makes the first one's again, as PyTorch.
    /// Throws tapegrad::Error when there is no scheduler, one is null or made
    /// on another optimizer, a ChainedScheduler or SequentialLR follows a
    /// milestone (PyTorch cannot restart those either), or milestones are not
    /// schedulers.size() - 1 increasing epochs > 0.
    SequentialLR(Optimizer<T>& optimizer, std::vector<std::shared_ptr<LRScheduler<T>>> schedulers,
                 std::vector<std::int64_t> milestones);
    /// Moves to the next epoch: restarts the scheduler whose milestone it is,
    /// or steps the one in charge.
    void step() override;

private:
    std::vector<std::int64_t> milestones_;
};

/// ReduceLROnPlateauOptions().mode(ReduceLROnPlateauOptions::Mode::Max).factor(0.5).patience(3)
///
/// Every option has a default. Each has a getter and a chainable setter of
/// its name; a setter throws tapegrad::Error on a value outside its range.
class ReduceLROnPlateauOptions {
public:
    /// Whether the metric improves by going down (Min: a loss) or up (Max: an accuracy).
    enum class Mode { Min, Max };
    /// The name error messages give this class.
    static constexpr const char* options_name = "ReduceLROnPlateauOptions";
    /// Which way the metric improves; default Mode::Min.
    TAPEGRAD_OPTION_ANY(Mode, mode) = Mode::Min;
    /// new lr = max(lr * factor, min_lr); default 0.1.
    TAPEGRAD_OPTION(double, factor, value > 0 && value < 1, "in (0, 1)") = 0.1;
    /// epochs without improvement tolerated; default 10.
    TAPEGRAD_OPTION(std::int64_t, patience, value >= 0, ">= 0") = 10;
    /// relative: improves when metric < best * (1 - threshold) (Max:
    /// metric > best * (1 + threshold)); default 1e-4.
    TAPEGRAD_OPTION(double, threshold, allowed::non_negative_finite(value), "finite and >= 0") = 1e-4;
    /// epochs to wait after a reduction (bad epochs in it do not count); default 0.
    TAPEGRAD_OPTION(std::int64_t, cooldown, value >= 0, ">= 0") = 0;
    /// The floor of the lr; default 0.
    TAPEGRAD_OPTION(double, min_lr, allowed::non_negative_finite(value), "finite and >= 0") = 0;
    /// reductions smaller than this are skipped; default 1e-8.
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-8;
};

/// Cuts the lr when a metric has stopped improving for `patience` epochs.
///
/// Holds a reference to the optimizer, which must outlive it.
template <class T>
class ReduceLROnPlateau {
public:
    /// Starts with no best metric yet (any finite first metric improves on it)
    /// and leaves the optimizer's lr as it is.
    explicit ReduceLROnPlateau(Optimizer<T>& optimizer,
                               const ReduceLROnPlateauOptions& options = ReduceLROnPlateauOptions());
    /// Ends an epoch with its metric (such as the validation loss).
    /// Returns true when this call reduced the lr.
    bool step(double metric);
    /// The best metric so far (+inf in Min mode, -inf in Max mode before any).
    double best() const { return best_; }
    /// Bad epochs counted towards patience: reset by an improvement, by a
    /// reduction and during cooldown.
    std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
    /// The options this scheduler was made with.
    const ReduceLROnPlateauOptions& options() const { return options_; }

    /// {"best", "num_bad_epochs", "cooldown_counter", "last_epoch"}, for a checkpoint.
    SchedulerState state() const;
    /// Restores what state() returned; the lr itself comes back with the
    /// optimizer's state. Throws tapegrad::Error when one of state()'s keys
    /// is missing, and then changes nothing; other keys are ignored.
    void load_state(const SchedulerState& state);

private:
    bool is_better(double metric) const;

    Optimizer<T>& optimizer_;
    ReduceLROnPlateauOptions options_;
    double best_;
    std::int64_t num_bad_epochs_ = 0;
    std::int64_t cooldown_counter_ = 0;
    std::int64_t last_epoch_ = 0;
};

extern template class LRScheduler<float>;
extern template class LRScheduler<double>;
extern template class StepLR<float>;
extern template class StepLR<double>;
extern template class LambdaLR<float>;
extern template class LambdaLR<double>;
extern template class LinearLR<float>;
extern template class LinearLR<double>;
extern template class CosineAnnealingLR<float>;
extern template class CosineAnnealingLR<double>;
extern template class OneCycleLR<float>;
extern template class OneCycleLR<double>;
extern template class CompositeScheduler<float>;
extern template class CompositeScheduler<double>;
extern template class ChainedScheduler<float>;
extern template class ChainedScheduler<double>;
extern template class SequentialLR<float>;
extern template class SequentialLR<double>;
extern template class ReduceLROnPlateau<float>;
extern template class ReduceLROnPlateau<double>;

}  // namespace tapegrad::optim
