// Optimizer<T>: updates a fixed list of parameters from their gradients.
//
// Per-parameter state (momentum buffers, Adam moments, step counts) lives in
// one slot per parameter, so that every optimizer saves and restores it the
// same way: state() / load_state() for checkpoints.
//
// The learning rate lives in one place, the optimizer's options (SGD's
// SGDOptions, Adam's AdamOptions): lr() reads it there and set_lr() (what a
// scheduler calls) writes it there, so options().lr() always shows the lr in use.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::optim {

// Everything needed to resume an optimizer exactly.
template <class T>
struct OptimizerState {
    // "<parameter index>.<buffer>", e.g. "0.momentum_buffer", "3.exp_avg".
    std::map<std::string, xt::xarray<T>> buffers;
    // "lr" and "<parameter index>.step".
    std::map<std::string, double> scalars;
};

template <class T>
class Optimizer {
public:
    explicit Optimizer(std::vector<Tensor<T>> params);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Applies one update to every parameter that has a gradient; the others
    // are skipped and their state is left as it was.
    virtual void step() = 0;
    void zero_grad();  // drops the gradients (PyTorch's set_to_none)

    virtual double lr() const = 0;
    // Throws tapegrad::Error (from the options' lr setter) unless lr is finite and > 0.
    virtual void set_lr(double lr) = 0;
    const std::vector<Tensor<T>>& params() const { return params_; }

    OptimizerState<T> state() const;
    // Throws tapegrad::Error on an unknown key, a parameter index out of range
    // or a buffer of the wrong shape; then nothing is changed.
    void check_state(const OptimizerState<T>& state) const;
    void load_state(const OptimizerState<T>& state);

protected:
    struct Slot {
        std::map<std::string, xt::xarray<T>> buffers;
        std::int64_t steps = 0;
    };
    Slot& slot(std::size_t index) { return slots_[index]; }
    // Which buffer names this optimizer keeps, for validating loaded state.
    virtual bool knows_buffer(const std::string& name) const = 0;

private:
    std::vector<Tensor<T>> params_;
    std::vector<Slot> slots_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad::optim
