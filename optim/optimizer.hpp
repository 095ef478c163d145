// Optimizer<T>: updates a fixed list of parameters from their gradients.
//
// Per-parameter state (momentum buffers, Adam moments, step counts) lives in
// one slot per parameter, so that every optimizer saves and restores it the
// same way: state() / load_state() for checkpoints.
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
    Optimizer(std::vector<Tensor<T>> params, double lr);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Applies one update to every parameter that has a gradient; the others
    // are skipped and their state is left as it was.
    virtual void step() = 0;
    void zero_grad();  // drops the gradients (PyTorch's set_to_none)

    double lr() const { return lr_; }
    void set_lr(double lr);
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
    double lr_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad::optim
