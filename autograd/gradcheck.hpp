// gradcheck: compares the gradients the tape computes with central
// differences, the way PyTorch's torch.autograd.gradcheck does.
//
//   auto report = gradcheck([](const TensorList<double>& x) { return TensorList<double>{tanh(x[0])}; },
//                           {Tensor<double>::normal({3, 4}, 0, 1, 7, true)});
//   if (!report.passed) std::cerr << report.summary();
//
// Only inputs with requires_grad() are checked. Every element of every output
// is compared, so keep outputs small (a scalar loss is the usual case).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

// GradcheckOptions().eps(1e-6).atol(1e-5).rtol(1e-3).sample(10).seed(5)
class GradcheckOptions {
public:
    static constexpr const char* options_name = "GradcheckOptions";
    // central-difference step
    TAPEGRAD_OPTION(double, eps, allowed::positive_finite(value), "finite and > 0") = 1e-6;
    // a pair passes when |analytic - numeric| <= atol + rtol * |numeric|
    TAPEGRAD_OPTION(double, atol, allowed::non_negative_finite(value), "finite and >= 0") = 1e-5;
    TAPEGRAD_OPTION(double, rtol, allowed::non_negative_finite(value), "finite and >= 0") = 1e-3;
    // 0: every input element; else a seeded sample of this many per input
    TAPEGRAD_OPTION_ANY(std::size_t, sample) = 0;
    // Picks the sample and gradgradcheck's random output gradients. Unset:
    // drawn from tapegrad::draw_seed() (autograd/random.hpp) when needed.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

struct GradcheckReport {
    bool passed = true;
    std::size_t checked = 0;  // (input element, output element) pairs compared
    std::size_t failed = 0;
    double max_abs_error = 0;
    double max_rel_error = 0;  // |a - n| / max(|n|, atol)
    // The pair that misses its tolerance by the most (or comes closest to it).
    std::size_t worst_input = 0, worst_input_element = 0;  // flat index into that input
    std::size_t worst_output = 0, worst_output_element = 0;
    double worst_analytic = 0, worst_numeric = 0;

    std::string summary() const;
};

template <class T>
using DiffFunction = std::function<TensorList<T>(const TensorList<T>&)>;

// Throws tapegrad::Error for float tensors: a central difference in float32
// with eps = 1e-6 measures rounding noise, not a derivative.
template <class T>
GradcheckReport gradcheck(const DiffFunction<T>& f, const TensorList<T>& inputs, const GradcheckOptions& options = {});

// Second derivatives: checks the gradient of f's outputs (contracted with
// seeded random output gradients v) with respect to the inputs and v, using
// backward(create_graph = true), against central differences.
template <class T>
GradcheckReport gradgradcheck(const DiffFunction<T>& f, const TensorList<T>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tapegrad
