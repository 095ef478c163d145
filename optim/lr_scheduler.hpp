// Learning-rate schedules acting on an optimizer's lr, as torch.optim.lr_scheduler.
// Each exposes its counters through state()/load_state() so a checkpoint can
// store them among its named scalars.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

using SchedulerState = std::map<std::string, double>;

// Multiplies the lr by gamma every step_size calls to step() (one per epoch).
template <class T>
class StepLR {
public:
    StepLR(Optimizer<T>& optimizer, std::int64_t step_size, double gamma = 0.1);
    void step();
    std::int64_t last_epoch() const { return last_epoch_; }

    SchedulerState state() const;
    void load_state(const SchedulerState& state);

private:
    Optimizer<T>& optimizer_;
    std::int64_t step_size_;
    double gamma_;
    std::int64_t last_epoch_ = 0;
};

struct PlateauOptions {
    enum class Mode { Min, Max };
    Mode mode = Mode::Min;
    double factor = 0.1;      // new lr = max(lr * factor, min_lr)
    std::int64_t patience = 10;  // epochs without improvement tolerated
    double threshold = 1e-4;  // relative: improves when metric < best * (1 - threshold)
    std::int64_t cooldown = 0;   // epochs to wait after a reduction
    double min_lr = 0;
    double eps = 1e-8;        // reductions smaller than this are skipped
};

// Cuts the lr when a metric has stopped improving for `patience` epochs.
template <class T>
class ReduceLROnPlateau {
public:
    explicit ReduceLROnPlateau(Optimizer<T>& optimizer, const PlateauOptions& options = {});
    // Returns true when this call reduced the lr.
    bool step(double metric);
    double best() const { return best_; }
    std::int64_t num_bad_epochs() const { return num_bad_epochs_; }

    SchedulerState state() const;
    void load_state(const SchedulerState& state);

private:
    bool is_better(double metric) const;

    Optimizer<T>& optimizer_;
    PlateauOptions options_;
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
