#include <tapegrad/optim/lr_scheduler.hpp>

#include <algorithm>

namespace tapegrad::optim {

namespace {
double required(const SchedulerState& state, const std::string& key, const char* scheduler) {
    auto found = state.find(key);
    if (found == state.end()) throw Error(std::string(scheduler) + " state: missing '" + key + "'");
    return found->second;
}
}  // namespace

template <class T>
StepLR<T>::StepLR(Optimizer<T>& optimizer, std::int64_t step_size, double gamma)
    : optimizer_(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size <= 0) throw Error("StepLR: step_size must be positive, got " + std::to_string(step_size));
    if (!(gamma > 0)) throw Error("StepLR: gamma must be > 0, got " + std::to_string(gamma));
}

template <class T>
void StepLR<T>::step() {
    // Chainable, as PyTorch's get_lr: it composes with other changes to the lr.
    if (++last_epoch_ % step_size_ == 0) optimizer_.set_lr(optimizer_.lr() * gamma_);
}

template <class T>
SchedulerState StepLR<T>::state() const { return {{"last_epoch", double(last_epoch_)}}; }

template <class T>
void StepLR<T>::load_state(const SchedulerState& state) {
    last_epoch_ = std::int64_t(required(state, "last_epoch", "StepLR"));
}

template <class T>
ReduceLROnPlateau<T>::ReduceLROnPlateau(Optimizer<T>& optimizer, const PlateauOptions& options)
    : optimizer_(optimizer), options_(options) {
    const std::string where = "ReduceLROnPlateau: ";
    if (!(options.factor > 0 && options.factor < 1)) throw Error(where + "factor must be in (0, 1)");
    if (options.patience < 0) throw Error(where + "patience must be >= 0");
    if (!(options.threshold >= 0)) throw Error(where + "threshold must be >= 0");
    if (options.cooldown < 0) throw Error(where + "cooldown must be >= 0");
    if (!(options.min_lr >= 0)) throw Error(where + "min_lr must be >= 0");
    best_ = options.mode == PlateauOptions::Mode::Min ? std::numeric_limits<double>::infinity()
                                                      : -std::numeric_limits<double>::infinity();
}

template <class T>
bool ReduceLROnPlateau<T>::is_better(double metric) const {
    if (options_.mode == PlateauOptions::Mode::Min) return metric < best_ * (1 - options_.threshold);
    return metric > best_ * (1 + options_.threshold);
}

template <class T>
bool ReduceLROnPlateau<T>::step(double metric) {
    ++last_epoch_;
    if (is_better(metric)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
    }
    if (num_bad_epochs_ <= options_.patience) return false;
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
    const double old_lr = optimizer_.lr();
    const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
    if (old_lr - new_lr <= options_.eps) return false;
    optimizer_.set_lr(new_lr);
    return true;
}

template <class T>
SchedulerState ReduceLROnPlateau<T>::state() const {
    return {{"best", best_},
            {"num_bad_epochs", double(num_bad_epochs_)},
            {"cooldown_counter", double(cooldown_counter_)},
            {"last_epoch", double(last_epoch_)}};
}

template <class T>
void ReduceLROnPlateau<T>::load_state(const SchedulerState& state) {
    const char* name = "ReduceLROnPlateau";
    const double best = required(state, "best", name), bad = required(state, "num_bad_epochs", name);
    const double cooldown = required(state, "cooldown_counter", name), epoch = required(state, "last_epoch", name);
    best_ = best;
    num_bad_epochs_ = std::int64_t(bad);
    cooldown_counter_ = std::int64_t(cooldown);
    last_epoch_ = std::int64_t(epoch);
}

template class StepLR<float>;
template class StepLR<double>;
template class ReduceLROnPlateau<float>;
template class ReduceLROnPlateau<double>;

}  // namespace tapegrad::optim
