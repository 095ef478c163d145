/// \file
/// gradcheck: compares the gradients the tape computes with central
/// differences, the way PyTorch's torch.autograd.gradcheck does.
///
/// \code
///   auto report = gradcheck([](const TensorList<double>& x) { return TensorList<double>{tanh(x[0])}; },
///                           {Tensor<double>::normal({3, 4}, 0, 1, 7, true)});
///   if (!report.passed) std::cerr << report.summary();
/// \endcode
///
/// Only inputs with requires_grad() are checked. Every element of every output
/// is compared, so keep outputs small (a scalar loss is the usual case).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The tolerances and sampling of gradcheck() and gradgradcheck(), each with a
/// chainable setter and a getter (options.hpp); a bad value throws Error:
/// GradcheckOptions().eps(1e-6).atol(1e-5).rtol(1e-3).sample(10).seed(5)
class GradcheckOptions {
public:
    /// The name errors give these options.
    static constexpr const char* options_name = "GradcheckOptions";
    /// central-difference step; default 1e-6, finite and > 0
    TAPEGRAD_OPTION(double, eps, allowed::positive_finite(value), "finite and > 0") = 1e-6;
    /// a pair passes when |analytic - numeric| <= atol + rtol * |numeric|;
    /// default 1e-5, finite and >= 0
    TAPEGRAD_OPTION(double, atol, allowed::non_negative_finite(value), "finite and >= 0") = 1e-5;
    /// relative tolerance (see atol); default 1e-3, finite and >= 0
    TAPEGRAD_OPTION(double, rtol, allowed::non_negative_finite(value), "finite and >= 0") = 1e-3;
    /// 0: every input element; else a seeded sample of this many per input
    /// (default 0)
    TAPEGRAD_OPTION_ANY(std::size_t, sample) = 0;
    /// Picks the sample and gradgradcheck's random output gradients. Unset:
    /// drawn from tapegrad::draw_seed() (autograd/random.hpp) when needed.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// What gradcheck() and gradgradcheck() found. "a" is the analytic gradient
/// (the tape's), "n" the numeric one (central differences).
///
/// In gradgradcheck()'s report a pair is (input element, element of a first
/// gradient): worst_output is the index, in the inputs given, of the input
/// whose gradient it is, and the worst input is either one of those inputs or
/// (worst_is_grad_output) the random output gradient v of output worst_input.
struct GradcheckReport {
    /// Which check made the report, "gradcheck" or "gradgradcheck"; summary() starts with it.
    std::string check = "gradcheck";
    /// True when no pair failed.
    bool passed = true;
    std::size_t checked = 0;  ///< (input element, output element) pairs compared
    /// Pairs outside the tolerance.
    std::size_t failed = 0;
    /// The largest |a - n|.
    double max_abs_error = 0;
    double max_rel_error = 0;  ///< |a - n| / max(|n|, atol)
    /// The pair that misses its tolerance by the most (or comes closest to it):
    /// its input (then the flat index of its element), output, and gradients.
    std::size_t worst_input = 0, worst_input_element = 0;  ///< flat index into that input
    /// The worst pair's output (then the flat index of its element).
    std::size_t worst_output = 0, worst_output_element = 0;  ///< flat index into that output
    /// The worst pair's analytic gradient (then its numeric one).
    double worst_analytic = 0, worst_numeric = 0;  ///< the numeric gradient
    /// gradgradcheck() only: the worst pair's input is the random output
    /// gradient v of output worst_input, not an input of f.
    bool worst_is_grad_output = false;

    /// One readable line: which check, passed or FAILED, counts, worst errors
    /// and pair, e.g. "gradcheck passed: 3/3 pass, ...; worst at input 0[2] ->
    /// output 0[0]: analytic 9, numeric 9" or, from gradgradcheck(), "... worst
    /// at grad_output 0[1] -> gradient of input 1[1]: ...".
    std::string summary() const;
};

/// The function gradcheck() differentiates: inputs to outputs, made of ops.
template <class T>
using DiffFunction = std::function<TensorList<T>(const TensorList<T>&)>;

/// Checks the gradients of every output of `f` with respect to the `inputs`
/// that require one against central differences. `f` is always evaluated
/// with the tape recording (whatever the caller's NoGradGuard), so it may
/// call grad() itself, as a gradient penalty does.
/// Throws tapegrad::Error for float tensors: a central difference in float32
/// with eps = 1e-6 measures rounding noise, not a derivative. Throws Error if
/// no input requires a gradient, or if f's outputs change count or shape
/// when an input moves. Errors of f propagate. Either way, and on success,
/// the inputs' values and grad() are left as found.
template <class T>
GradcheckReport gradcheck(const DiffFunction<T>& f, const TensorList<T>& inputs, const GradcheckOptions& options = {});

/// Second derivatives: checks the gradient of f's outputs (contracted with
/// seeded random output gradients v) with respect to the inputs and v, using
/// backward(create_graph = true), against central differences. Throws Error
/// as gradcheck() does.
template <class T>
GradcheckReport gradgradcheck(const DiffFunction<T>& f, const TensorList<T>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tapegrad
