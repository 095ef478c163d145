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
StepLR<T>::StepLR(Optimizer<T>& optimizer, const StepLROptions& options) : optimizer_(optimizer), options_(options) {}

template <class T>
void StepLR<T>::step() {
    // Chainable, as PyTorch's get_lr: it composes with other changes to the lr.
    if (++last_epoch_ % options_.step_size() == 0) optimizer_.set_lr(optimizer_.lr() * options_.gamma());
}

template <class T>
SchedulerState StepLR<T>::state() const { return {{"last_epoch", double(last_epoch_)}}; }

template <class T>
void StepLR<T>::load_state(const SchedulerState& state) {
    last_epoch_ = std::int64_t(required(state, "last_epoch", "StepLR"));
}

template <class T>
ReduceLROnPlateau<T>::ReduceLROnPlateau(Optimizer<T>& optimizer, const ReduceLROnPlateauOptions& options)
    : optimizer_(optimizer), options_(options) {
    best_ = options.mode() == ReduceLROnPlateauOptions::Mode::Min ? std::numeric_limits<double>::infinity()
                                                      : -std::numeric_limits<double>::infinity();
}

template <class T>
bool ReduceLROnPlateau<T>::is_better(double metric) const {
    if (options_.mode() == ReduceLROnPlateauOptions::Mode::Min) return metric < best_ * (1 - options_.threshold());
    return metric > best_ * (1 + options_.threshold());
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
    if (num_bad_epochs_ <= options_.patience()) return false;
    cooldown_counter_ = options_.cooldown();
    num_bad_epochs_ = 0;
    const double old_lr = optimizer_.lr();
    const double new_lr = std::max(old_lr * options_.factor(), options_.min_lr());
    if (old_lr - new_lr <= options_.eps()) return false;
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
