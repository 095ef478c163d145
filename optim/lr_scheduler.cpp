#include <tapegrad/optim/lr_scheduler.hpp>

#include <algorithm>
#include <cmath>

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
LRScheduler<T>::LRScheduler(Optimizer<T>& optimizer) : optimizer_(optimizer) {
    // PyTorch's group.setdefault("initial_lr", lr): the first scheduler's lr
    // is every later one's base, so that SequentialLR's schedulers share it.
    if (!optimizer.initial_lr()) optimizer.set_initial_lr(optimizer.lr());
    base_lr_ = *optimizer.initial_lr();
}

template <class T>
void LRScheduler<T>::step() { move_to(last_epoch_ + 1, false); }

template <class T>
void LRScheduler<T>::move_to(std::int64_t epoch, bool closed_form) {
    // The count moves only once set_lr has accepted the new lr, so a step
    // that throws changes nothing.
    optimizer_.set_lr(closed_form ? closed_form_lr(epoch) : lr_at(epoch));
    last_epoch_ = epoch;
}

template <class T>
SchedulerState LRScheduler<T>::state() const { return {{"last_epoch", double(last_epoch_)}}; }

template <class T>
void LRScheduler<T>::load_state(const SchedulerState& state) {
    // -1: a scheduler SequentialLR has not reached yet (its epoch 0 taken back).
    const double epoch = required(state, "last_epoch", "scheduler");
    if (epoch != -1 && !allowed::exact_count(epoch))
        throw Error("scheduler state: 'last_epoch' must be a whole number >= -1, got " + detail::option_value_text(epoch));
    last_epoch_ = std::int64_t(epoch);
}

template <class T>
StepLR<T>::StepLR(Optimizer<T>& optimizer, const StepLROptions& options)
    : ScheduleWithOptions<T, StepLROptions>(optimizer, options) {
    this->initial_step();
}

template <class T>
double StepLR<T>::lr_at(std::int64_t epoch) const {
    const double lr = this->optimizer().lr();
    return epoch == 0 || epoch % this->options_.step_size() != 0 ? lr : lr * this->options_.gamma();
}

template <class T>
double StepLR<T>::closed_form_lr(std::int64_t epoch) const {
    return this->base_lr() * std::pow(this->options_.gamma(), double(epoch / this->options_.step_size()));
}

template <class T>
LambdaLR<T>::LambdaLR(Optimizer<T>& optimizer, Lambda lr_lambda)
    : LRScheduler<T>(optimizer), lr_lambda_(std::move(lr_lambda)) {
    if (!lr_lambda_) throw Error("LambdaLR: lr_lambda is empty");
    this->initial_step();
}

template <class T>
double LambdaLR<T>::lr_at(std::int64_t epoch) const { return this->base_lr() * lr_lambda_(epoch); }

template <class T>
LinearLR<T>::LinearLR(Optimizer<T>& optimizer, const LinearLROptions& options)
    : ScheduleWithOptions<T, LinearLROptions>(optimizer, options) {
    this->initial_step();
}

template <class T>
double LinearLR<T>::lr_at(std::int64_t epoch) const {
    const double lr = this->optimizer().lr(), start = this->options_.start_factor(), end = this->options_.end_factor();
    if (epoch == 0) return lr * start;
    if (epoch > this->options_.total_iters()) return lr;
    return lr * (1.0 + (end - start) / (double(this->options_.total_iters()) * start + double(epoch - 1) * (end - start)));
}

template <class T>
double LinearLR<T>::closed_form_lr(std::int64_t epoch) const {
    const double start = this->options_.start_factor(), end = this->options_.end_factor();
    return this->base_lr() *
           (start + (end - start) * double(std::min(this->options_.total_iters(), epoch)) / double(this->options_.total_iters()));
}

template <class T>
CosineAnnealingLR<T>::CosineAnnealingLR(Optimizer<T>& optimizer, const CosineAnnealingLROptions& options)
    : ScheduleWithOptions<T, CosineAnnealingLROptions>(optimizer, options) {
    this->initial_step();
}

template <class T>
double CosineAnnealingLR<T>::lr_at(std::int64_t epoch) const {
    // PyTorch's get_lr, term for term (its recursion rounds otherwise than
    // the closed form, and chains with other schedules).
    const double lr = this->optimizer().lr(), eta_min = this->options_.eta_min(), T_max = double(this->options_.T_max());
    if (epoch == 0) return lr;
    if ((epoch - 1 - this->options_.T_max()) % (2 * this->options_.T_max()) == 0)
        return lr + (this->base_lr() - eta_min) * (1 - std::cos(M_PI / T_max)) / 2;
    return (1 + std::cos(M_PI * double(epoch) / T_max)) / (1 + std::cos(M_PI * double(epoch - 1) / T_max)) *
               (lr - eta_min) +
           eta_min;
}

template <class T>
double CosineAnnealingLR<T>::closed_form_lr(std::int64_t epoch) const {
    const double eta_min = this->options_.eta_min();
    return eta_min + (this->base_lr() - eta_min) * (1 + std::cos(M_PI * double(epoch) / double(this->options_.T_max()))) / 2;
}

namespace {
// OneCycleLR's first lr (its initial_lr), set before LRScheduler's
// constructor reads it; checks the optimizer first, so a refusal changes nothing.
template <class T>
Optimizer<T>& one_cycle_start(Optimizer<T>& optimizer, const OneCycleLROptions& options) {
    if (options.cycle_momentum() && !optimizer.momentum())
        throw Error("OneCycleLR: cycle_momentum needs an optimizer with a momentum (SGD's momentum, Adam's beta1)");
    optimizer.set_initial_lr(options.max_lr() / options.div_factor());
    return optimizer;
}
}  // namespace

template <class T>
OneCycleLR<T>::OneCycleLR(Optimizer<T>& optimizer, const OneCycleLROptions& options)
    : ScheduleWithOptions<T, OneCycleLROptions>(one_cycle_start(optimizer, options), options) {
    this->initial_step();
}

template <class T>
std::pair<double, double> OneCycleLR<T>::at(std::int64_t epoch) const {
    if (epoch > this->options_.total_steps())
        throw Error("OneCycleLR: tried to step " + std::to_string(epoch) + " times, total_steps is " +
                    std::to_string(this->options_.total_steps()));
    const double initial = this->base_lr(), max_lr = this->options_.max_lr(), min_lr = initial / this->options_.final_div_factor();
    const double total = double(this->options_.total_steps()), pct_start = this->options_.pct_start();
    const double up = this->options_.base_momentum(), down = this->options_.max_momentum();
    struct Phase {
        double end_step, start_lr, end_lr, start_momentum, end_momentum;
    };
    // PyTorch's _schedule_phases.
    const std::vector<Phase> phases =
        this->options_.three_phase()
            ? std::vector<Phase>{{pct_start * total - 1, initial, max_lr, down, up},
                                 {2 * pct_start * total - 2, max_lr, initial, up, down},
                                 {total - 1, initial, min_lr, down, down}}
            : std::vector<Phase>{{pct_start * total - 1, initial, max_lr, down, up},
                                 {total - 1, max_lr, min_lr, up, down}};
    const auto anneal = [&](double from, double to, double pct) {
        if (this->options_.anneal_strategy() == OneCycleLROptions::Anneal::Linear) return (to - from) * pct + from;
        return to + (from - to) / 2.0 * (std::cos(M_PI * pct) + 1);
    };
    double start_step = 0;
    for (std::size_t i = 0;; ++i) {
        const Phase& phase = phases[i];
        if (double(epoch) <= phase.end_step || i == phases.size() - 1) {
            // Python would raise ZeroDivisionError here.
            if (phase.end_step == start_step)
                throw Error("OneCycleLR: phase " + std::to_string(i + 1) + " has no steps (total_steps " +
                            std::to_string(this->options_.total_steps()) + ", pct_start " +
                            detail::option_value_text(pct_start) + ")");
            const double pct = (double(epoch) - start_step) / (phase.end_step - start_step);
            // Step total_steps, past the last phase's end, extrapolates:
            // linearly below 0 (PyTorch sets that lr, which a loop of
            // total_steps batches never uses; set_lr refuses it).
            return {std::max(0.0, anneal(phase.start_lr, phase.end_lr, pct)),
                    anneal(phase.start_momentum, phase.end_momentum, pct)};
        }
        start_step = phase.end_step;
    }
}

template <class T>
double OneCycleLR<T>::lr_at(std::int64_t epoch) const { return at(epoch).first; }

template <class T>
void OneCycleLR<T>::move_to(std::int64_t epoch, bool) {
    const auto [lr, momentum] = at(epoch);
    Optimizer<T>& optimizer = this->optimizer();
    const double old_lr = optimizer.lr();
    optimizer.set_lr(lr);
    if (this->options_.cycle_momentum()) {
        try {
            optimizer.set_momentum(momentum);
        } catch (...) {
            optimizer.set_lr(old_lr);  // all or nothing
            throw;
        }
    }
    this->last_epoch_ = epoch;
}

template <class T>
void OneCycleLR<T>::load_state(const SchedulerState& state) {
    const std::int64_t epoch = required_count(state, "last_epoch", "OneCycleLR");
    const double momentum = at(epoch).second;  // throws past total_steps
    if (this->options_.cycle_momentum()) this->optimizer().set_momentum(momentum);
    this->last_epoch_ = epoch;
}

namespace {
template <class T>
using Schedulers = std::vector<std::shared_ptr<LRScheduler<T>>>;

// Every scheduler of a composite, non-null and on `optimizer` (the first's when null).
template <class T>
Optimizer<T>& common_optimizer(const char* name, const Schedulers<T>& schedulers, Optimizer<T>* optimizer) {
    if (schedulers.empty()) throw Error(std::string(name) + ": got no scheduler");
    for (std::size_t i = 0; i < schedulers.size(); ++i) {
        if (!schedulers[i]) throw Error(std::string(name) + ": scheduler " + std::to_string(i) + " is null");
        if (!optimizer) optimizer = &schedulers[i]->optimizer();
        if (&schedulers[i]->optimizer() != optimizer)
            throw Error(std::string(name) + ": scheduler " + std::to_string(i) +
                        " sets another optimizer's lr than the others");
    }
    return *optimizer;
}

}  // namespace

template <class T>
CompositeScheduler<T>::CompositeScheduler(const char* name, Schedulers<T> schedulers, Optimizer<T>* optimizer)
    : LRScheduler<T>(common_optimizer<T>(name, schedulers, optimizer)), schedulers_(std::move(schedulers)), name_(name) {
    this->last_epoch_ = 0;
}

template <class T>
SchedulerState CompositeScheduler<T>::state() const {
    SchedulerState state{{"last_epoch", double(this->last_epoch_)}};
    for (std::size_t i = 0; i < schedulers_.size(); ++i)
        for (const auto& [key, value] : schedulers_[i]->state()) state[std::to_string(i) + "." + key] = value;
    return state;
}

template <class T>
void CompositeScheduler<T>::load_state(const SchedulerState& state) {
    const std::int64_t epoch = required_count(state, "last_epoch", name_);
    std::vector<SchedulerState> before;
    for (const auto& s : schedulers_) before.push_back(s->state());
    try {
        for (std::size_t i = 0; i < schedulers_.size(); ++i) {
            const std::string prefix = std::to_string(i) + ".";
            SchedulerState own;
            for (const auto& [key, value] : state)
                if (key.compare(0, prefix.size(), prefix) == 0) own[key.substr(prefix.size())] = value;
            schedulers_[i]->load_state(own);
        }
    } catch (...) {
        for (std::size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->load_state(before[i]);
        throw;
    }
    this->last_epoch_ = epoch;
}

template <class T>
double CompositeScheduler<T>::lr_at(std::int64_t) const {
    throw Error(std::string(name_) + ": has no lr of its own to restart at");
}

template <class T>
void CompositeScheduler<T>::undo_initial_step() {
    for (const auto& s : schedulers_) s->undo_initial_step();
}

template <class T>
ChainedScheduler<T>::ChainedScheduler(Schedulers<T> schedulers)
    : CompositeScheduler<T>("ChainedScheduler", std::move(schedulers), nullptr) {}

template <class T>
void ChainedScheduler<T>::step() {
    for (const auto& s : this->schedulers_) s->step();
    ++this->last_epoch_;
}

template <class T>
SequentialLR<T>::SequentialLR(Optimizer<T>& optimizer, Schedulers<T> schedulers, std::vector<std::int64_t> milestones)
    : CompositeScheduler<T>("SequentialLR", std::move(schedulers), &optimizer), milestones_(std::move(milestones)) {
    const Schedulers<T>& all = this->schedulers_;
    if (milestones_.size() != all.size() - 1)
        throw Error("SequentialLR: " + std::to_string(all.size()) + " schedulers need " +
                    std::to_string(all.size() - 1) + " milestones, got " + std::to_string(milestones_.size()));
    for (std::size_t i = 0; i < milestones_.size(); ++i)
        if (milestones_[i] <= (i ? milestones_[i - 1] : 0))
            throw Error("SequentialLR: milestones must be increasing epochs > 0, got " +
                        detail::option_value_text(milestones_));
    for (std::size_t i = 1; i < all.size(); ++i)
        if (all[i]->is_composite())
            throw Error("SequentialLR: scheduler " + std::to_string(i) +
                        " is a ChainedScheduler or SequentialLR, which cannot restart at its milestone");
    // PyTorch's constructor: the lr back to initial_lr, every scheduler's
    // epoch 0 taken back, the first one's made again.
    optimizer.set_lr(this->base_lr());
    for (const auto& s : all) s->undo_initial_step();
    all[0]->redo_initial_step();
    this->last_epoch_ = 0;
}

template <class T>
void SequentialLR<T>::step() {
    const std::int64_t epoch = this->last_epoch_ + 1;
    const std::size_t index = std::size_t(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
    if (index > 0 && milestones_[index - 1] == epoch)
        this->schedulers_[index]->move_to(0, /*closed_form=*/true);  // PyTorch's _update_lr(0)
    else
        this->schedulers_[index]->step();
    this->last_epoch_ = epoch;
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

template class LRScheduler<float>;
template class LRScheduler<double>;
template class StepLR<float>;
template class StepLR<double>;
template class LambdaLR<float>;
template class LambdaLR<double>;
template class LinearLR<float>;
template class LinearLR<double>;
template class CosineAnnealingLR<float>;
template class CosineAnnealingLR<double>;
template class OneCycleLR<float>;
template class OneCycleLR<double>;
template class CompositeScheduler<float>;
template class CompositeScheduler<double>;
template class ChainedScheduler<float>;
template class ChainedScheduler<double>;
template class SequentialLR<float>;
template class SequentialLR<double>;
template class ReduceLROnPlateau<float>;
template class ReduceLROnPlateau<double>;

}  // namespace tapegrad::optim
