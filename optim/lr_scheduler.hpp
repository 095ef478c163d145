/// \file
/// Learning-rate schedules acting on an optimizer's lr, as torch.optim.lr_scheduler.
/// They change the lr where it lives, in the optimizer's options (set_lr), so
/// optimizer.options().lr() shows the scheduled value. Each exposes its
/// counters through state()/load_state() so a checkpoint can store them among
/// its named scalars.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

/// A scheduler's counters by name ("last_epoch", ...), as state() returns
/// and load_state() takes them.
using SchedulerState = std::map<std::string, double>;

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

/// Multiplies the lr by gamma every step_size calls to step() (one per epoch).
///
/// Holds a reference to the optimizer, which must outlive it.
template <class T>
class StepLR {
public:
    /// Leaves the optimizer's lr as it is until the first cut.
    StepLR(Optimizer<T>& optimizer, const StepLROptions& options);
    /// Ends an epoch: every step_size-th call multiplies the optimizer's lr by
    /// gamma (so it composes with other changes to the lr). Throws
    /// tapegrad::Error, from Optimizer::set_lr(), if the new lr is not finite
    /// and > 0; then the lr is unchanged.
    void step();
    /// The number of step() calls so far.
    std::int64_t last_epoch() const { return last_epoch_; }
    /// The options this scheduler was made with.
    const StepLROptions& options() const { return options_; }

    /// {"last_epoch"}, for a checkpoint.
    SchedulerState state() const;
    /// Restores what state() returned; the lr itself comes back with the
    /// optimizer's state. Throws tapegrad::Error when "last_epoch" is
    /// missing, and then changes nothing; other keys are ignored.
    void load_state(const SchedulerState& state);

private:
    Optimizer<T>& optimizer_;
    StepLROptions options_;
    std::int64_t last_epoch_ = 0;
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

extern template class StepLR<float>;
extern template class StepLR<double>;
extern template class ReduceLROnPlateau<float>;
extern template class ReduceLROnPlateau<double>;

}  // namespace tapegrad::optim
