/// \file
/// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_:
/// called between backward() and the optimizer's step(), they rescale or
/// clamp the gradients the parameters hold, in place. Parameters without a
/// gradient are skipped.
///
/// \code
///   loss.backward();
///   const double norm = nn::clip_grad_norm(model.parameters(), 1.0);
///   optimizer.step();
/// \endcode
///
/// They live in nn, as in PyTorch (torch.nn.utils), because they act on a
/// module's parameters and need nothing but autograd: the Trainer (train)
/// and a hand-written loop reach them alike (TrainerOptions::clip_grad_norm).
#pragma once

#include <limits>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn {

/// Scales the gradients of `parameters` together so that their total norm is
/// at most `max_norm`, and returns the total norm before clipping, as
/// torch.nn.utils.clip_grad_norm_:
///
/// \verbatim
///   total_norm = norm_type-norm of (the norm_type-norm of each gradient)
///              = the norm_type-norm of all gradients' values together
///   clip_coef  = min(max_norm / (total_norm + 1e-6), 1);  every grad *= clip_coef
/// \endverbatim
///
/// (computed in T, as PyTorch does in the gradients' dtype; each gradient's
/// norm is summed in double first). norm_type is a p > 0 or
/// std::numeric_limits<double>::infinity() (the largest |value|). Every
/// gradient is multiplied by clip_coef, even when it is 1 (as PyTorch). A
/// NaN or infinite gradient makes the total norm NaN or inf and, unless
/// `error_if_nonfinite`, every gradient NaN (or 0), as in PyTorch; with
/// `error_if_nonfinite` it throws tapegrad::Error instead and changes nothing.
/// Returns 0 when no parameter has a gradient. Throws tapegrad::Error for a
/// `max_norm` that is negative or NaN or a `norm_type` that is not > 0 (PyTorch
/// also takes 0 and -inf, which no one clips by), changing nothing.
template <class T>
T clip_grad_norm(const std::vector<Tensor<T>>& parameters, double max_norm, double norm_type = 2,
                 bool error_if_nonfinite = false);

/// Clamps every gradient value of `parameters` into [-clip_value, clip_value]
/// in place, as torch.nn.utils.clip_grad_value_ (NaN stays NaN). Throws
/// tapegrad::Error for a `clip_value` that is negative or NaN, changing nothing.
/// Both are defined for float and double.
template <class T>
void clip_grad_value(const std::vector<Tensor<T>>& parameters, double clip_value);

}  // namespace tapegrad::nn
