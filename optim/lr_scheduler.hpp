// Learning-rate schedules acting on an optimizer's lr, as torch.optim.lr_scheduler.
// They change the lr where it lives, in the optimizer's options (set_lr), so
// optimizer.options().lr() shows the scheduled value. Each exposes its
// counters through state()/load_state() so a checkpoint can store them among
// its named scalars.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

using SchedulerState = std::map<std::string, double>;

// StepLROptions(/*step_size=*/30).gamma(0.1)
class StepLROptions {
public:
    static constexpr const char* options_name = "StepLROptions";
    explicit StepLROptions(std::int64_t step_size) { this->step_size(step_size); }
    TAPEGRAD_OPTION(std::int64_t, step_size, value > 0, "> 0");
    TAPEGRAD_OPTION(double, gamma, allowed::positive_finite(value), "finite and > 0") = 0.1;
};

// Multiplies the lr by gamma every step_size calls to step() (one per epoch).
template <class T>
class StepLR {
public:
    StepLR(Optimizer<T>& optimizer, const StepLROptions& options);
    void step();
    std::int64_t last_epoch() const { return last_epoch_; }
    const StepLROptions& options() const { return options_; }

    SchedulerState state() const;
    void load_state(const SchedulerState& state);

private:
    Optimizer<T>& optimizer_;
    StepLROptions options_;
    std::int64_t last_epoch_ = 0;
};

// ReduceLROnPlateauOptions().mode(ReduceLROnPlateauOptions::Mode::Max).factor(0.5).patience(3)
class ReduceLROnPlateauOptions {
public:
    enum class Mode { Min, Max };
    static constexpr const char* options_name = "ReduceLROnPlateauOptions";
    TAPEGRAD_OPTION_ANY(Mode, mode) = Mode::Min;
    // new lr = max(lr * factor, min_lr)
    TAPEGRAD_OPTION(double, factor, value > 0 && value < 1, "in (0, 1)") = 0.1;
    // epochs without improvement tolerated
    TAPEGRAD_OPTION(std::int64_t, patience, value >= 0, ">= 0") = 10;
    // relative: improves when metric < best * (1 - threshold)
    TAPEGRAD_OPTION(double, threshold, allowed::non_negative_finite(value), "finite and >= 0") = 1e-4;
    // epochs to wait after a reduction
    TAPEGRAD_OPTION(std::int64_t, cooldown, value >= 0, ">= 0") = 0;
    TAPEGRAD_OPTION(double, min_lr, allowed::non_negative_finite(value), "finite and >= 0") = 0;
    // reductions smaller than this are skipped
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-8;
};

// Cuts the lr when a metric has stopped improving for `patience` epochs.
template <class T>
class ReduceLROnPlateau {
public:
    explicit ReduceLROnPlateau(Optimizer<T>& optimizer,
                               const ReduceLROnPlateauOptions& options = ReduceLROnPlateauOptions());
    // Returns true when this call reduced the lr.
    bool step(double metric);
    double best() const { return best_; }
    std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
    const ReduceLROnPlateauOptions& options() const { return options_; }

    SchedulerState state() const;
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
