#include <tapegrad/optim/lr_scheduler.hpp>

#include <algorithm>

namespace tapegrad::optim {

namespace {
double required(const SchedulerState& state, const std::string& key, const char* scheduler) {
    auto found = state.find(key);
    if (found == state.end()) throw Error(std::string(scheduler) + " state: missing '" + key + "'");
    return found->second;
}

// A counter from saved state: a whole number >= 0 that converts to an integer
// exactly (a NaN or 1e300 cast to int64 would be undefined behaviour).
std::int64_t required_count(const SchedulerState& state, const std::string& key, const char* scheduler) {
    const double value = required(state, key, scheduler);
    if (!allowed::exact_count(value))
        throw Error(std::string(scheduler) + " state: '" + key + "' must be a whole number >= 0, got " +
                    detail::option_value_text(value));
    return static_cast<std::int64_t>(value);
}
}  // namespace

template <class T>
StepLR<T>::StepLR(Optimizer<T>& optimizer, const StepLROptions& options) : optimizer_(optimizer), options_(options) {}

template <class T>
void StepLR<T>::step() {
    // Chainable, as PyTorch's get_lr: it composes with other changes to the lr.
    // The count moves only once set_lr has accepted the new lr, so a step
    // that throws (an lr that underflows to 0) changes nothing.
    const std::int64_t epoch = last_epoch_ + 1;
    if (epoch % options_.step_size() == 0) optimizer_.set_lr(optimizer_.lr() * options_.gamma());
    last_epoch_ = epoch;
}

template <class T>
SchedulerState StepLR<T>::state() const { return {{"last_epoch", double(last_epoch_)}}; }

template <class T>
void StepLR<T>::load_state(const SchedulerState& state) {
    last_epoch_ = required_count(state, "last_epoch", "StepLR");
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
    // Worked out on copies and committed once set_lr has accepted the new
    // lr, so a step that throws changes nothing.
    double best = best_;
    std::int64_t bad_epochs = num_bad_epochs_, cooldown = cooldown_counter_;
    if (is_better(metric)) {
        best = metric;
        bad_epochs = 0;
    } else {
        ++bad_epochs;
    }
    if (cooldown > 0) {
        --cooldown;
        bad_epochs = 0;  // bad epochs in cooldown do not count
    }
    bool reduced = false;
    if (bad_epochs > options_.patience()) {
        cooldown = options_.cooldown();
        bad_epochs = 0;
        const double old_lr = optimizer_.lr();
        const double new_lr = std::max(old_lr * options_.factor(), options_.min_lr());
        if (old_lr - new_lr > options_.eps()) {
            optimizer_.set_lr(new_lr);
            reduced = true;
        }
    }
    ++last_epoch_;
    best_ = best;
    num_bad_epochs_ = bad_epochs;
    cooldown_counter_ = cooldown;
    return reduced;
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
    const double best = required(state, "best", name);
    const std::int64_t bad = required_count(state, "num_bad_epochs", name);
    const std::int64_t cooldown = required_count(state, "cooldown_counter", name);
    const std::int64_t epoch = required_count(state, "last_epoch", name);
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
    last_epoch_ = epoch;
}

template class StepLR<float>;
template class StepLR<double>;
template class ReduceLROnPlateau<float>;
template class ReduceLROnPlateau<double>;

}  // namespace tapegrad::optim
