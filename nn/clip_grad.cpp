#include <tapegrad/nn/clip_grad.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/options.hpp>

namespace tapegrad::nn {

namespace {
// The p-norm of `values` (p = inf: the largest |value|), summed in double;
// NaN in, NaN out, as torch.linalg.vector_norm.
template <class Values>
double p_norm(const Values& values, double p) {
    double acc = 0;
    for (const double v : values) {
        if (std::isnan(v)) return v;
        if (std::isinf(p))
            acc = std::max(acc, std::abs(v));
        else
            acc += p == 2 ? v * v : std::pow(std::abs(v), p);
    }
    return std::isinf(p) ? acc : p == 2 ? std::sqrt(acc) : std::pow(acc, 1 / p);
}

void check_bound(const char* where, const char* name, double value) {
    if (std::isnan(value) || value < 0)
        throw Error(std::string(where) + ": " + name + " must be >= 0, got " + detail::option_value_text(value));
}
}  // namespace

template <class T>
T clip_grad_norm(const std::vector<Tensor<T>>& parameters, double max_norm, double norm_type, bool error_if_nonfinite) {
    check_bound("clip_grad_norm", "max_norm", max_norm);
    if (!(norm_type > 0))
        throw Error("clip_grad_norm: norm_type must be > 0 or inf, got " + detail::option_value_text(norm_type));
    std::vector<Tensor<T>> with_grad;
    std::vector<T> norms;  // each in T, as PyTorch stacks the gradients' norms
    for (const Tensor<T>& p : parameters)
        if (p.grad().defined()) {
            norms.push_back(T(p_norm(p.grad().data(), norm_type)));
            with_grad.push_back(p);
        }
    if (with_grad.empty()) return T(0);
    const T total = T(p_norm(norms, norm_type));
    if (error_if_nonfinite && !std::isfinite(total))
        throw Error("clip_grad_norm: the total norm of order " + detail::option_value_text(norm_type) +
                    " of the gradients of " + std::to_string(with_grad.size()) + " parameters is " +
                    detail::option_value_text(double(total)) + " (error_if_nonfinite)");
    // PyTorch's formula, in T: clamp(max_norm / (total + 1e-6), max = 1), a
    // NaN total giving NaN (std::min would drop it).
    const T coef = T(max_norm) / (total + T(1e-6));
    const T clamped = coef > T(1) ? T(1) : coef;
    const NoGradGuard no_grad;
    for (Tensor<T> p : with_grad) p.set_grad(p.grad() * clamped);
    return total;
}

template <class T>
void clip_grad_value(const std::vector<Tensor<T>>& parameters, double clip_value) {
    check_bound("clip_grad_value", "clip_value", clip_value);
    const NoGradGuard no_grad;
    for (Tensor<T> p : parameters)
        if (p.grad().defined()) p.set_grad(clamp(p.grad(), T(-clip_value), T(clip_value)));
}

template float clip_grad_norm(const std::vector<Tensor<float>>&, double, double, bool);
template double clip_grad_norm(const std::vector<Tensor<double>>&, double, double, bool);
template void clip_grad_value(const std::vector<Tensor<float>>&, double);
template void clip_grad_value(const std::vector<Tensor<double>>&, double);

}  // namespace tapegrad::nn
