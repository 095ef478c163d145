/// \file
/// Every differentiable operation of tapegrad. Each is a free function that
/// computes its value and records, next to it, how to map the output's gradient
/// to its inputs' (`autograd/ops/<family>.cpp` holds both, side by side; tape.hpp
/// says how an op records).
///
/// The ops themselves are listed in autograd/op_list.hpp, one entry each with
/// its parameters and a line on what it does: this header declares them from
/// that list, and the list is the table to read. Adding an op is an entry
/// there, its definition in `ops/<family>.cpp`, and its gradient tests in
/// tests/autograd (README, "Adding an op").
///
/// Shape errors throw tapegrad::Error naming the operation and the shapes.
/// An op that throws records nothing and changes none of its inputs.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include <tapegrad/autograd/conv_geometry.hpp>
#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Scalars are taken in a non-deduced context, so `x * 2.0` works for a float
/// tensor: the tensor alone decides T.
template <class T>
struct identity { using type = T; };
/// \typedef identity::type
/// T itself, reached through identity so that T is not deduced from it.

/// A scalar argument of type T that does not take part in deducing T.
template <class T>
using Scalar = typename identity<T>::type;

/// The broadcast shape of two shapes (numpy rules); throws tapegrad::Error
/// naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// How a loss combines its terms: their mean (the default; each loss says what
/// it divides by), their sum, or None: the terms themselves, one per element
/// (per target for nll_loss and cross_entropy), PyTorch's reduction='none'.
enum class Reduction { Mean, Sum, None };

/// Options of nll_loss, as LibTorch's NLLLossOptions (without class weights):
/// `nll_loss(log_probs, targets, NLLLossOptions().ignore_index(-1))`. A
/// Reduction converts to them, so `nll_loss(x, y, Reduction::Sum)` works.
class NLLLossOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "NLLLossOptions";
    /// The options with `reduction` (implicit, as LibTorch's loss options).
    NLLLossOptions(Reduction reduction = Reduction::Mean) { this->reduction(reduction); }
    /// How the per-target losses combine; Mean divides by the number of
    /// targets not ignored (NaN when there is none, as PyTorch).
    TAPEGRAD_OPTION_ANY(Reduction, reduction) = Reduction::Mean;
    /// A target of this value is ignored: loss 0, no gradient, not counted by
    /// Mean. Any value; PyTorch's default -100.
    TAPEGRAD_OPTION_ANY(std::int64_t, ignore_index) = -100;
};

/// Options of cross_entropy, as LibTorch's CrossEntropyFuncOptions (without
/// class weights): `cross_entropy(logits, targets,
/// CrossEntropyOptions().ignore_index(-1).label_smoothing(0.1))`. A Reduction
/// converts to them, so `cross_entropy(x, y, Reduction::Sum)` works.
class CrossEntropyOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "CrossEntropyOptions";
    /// The options with `reduction` (implicit, as LibTorch's loss options).
    CrossEntropyOptions(Reduction reduction = Reduction::Mean) { this->reduction(reduction); }
    /// How the per-target losses combine; with class targets Mean divides by
    /// the number of targets not ignored (NaN when there is none, as PyTorch),
    /// with a target distribution by the number of rows.
    TAPEGRAD_OPTION_ANY(Reduction, reduction) = Reduction::Mean;
    /// A class target of this value is ignored: loss 0, no gradient, not
    /// counted by Mean. PyTorch's default -100; with a target distribution it
    /// must stay negative, as in PyTorch.
    TAPEGRAD_OPTION_ANY(std::int64_t, ignore_index) = -100;
    /// eps in [0, 1]: the target becomes (1 - eps) of itself plus eps spread
    /// evenly over the classes, as PyTorch's label_smoothing (default 0).
    TAPEGRAD_OPTION(double, label_smoothing, value >= 0 && value <= 1, "in [0, 1]") = 0;
};

/// Which form of gelu: the exact one with erf (PyTorch's approximate="none")
/// or PyTorch's tanh approximation (approximate="tanh").
enum class GeluApproximate { None, Tanh };

// ---- the ops: one declaration per entry of op_list.hpp --------------------
//   template <class T> Tensor<T> name(parameters);
#define TAPEGRAD_FAMILY(family) 1
#define TAPEGRAD_DEFAULT(value) = value
#define TAPEGRAD_OP(key, returns, name, parameters) template <class T> returns name parameters;
#include <tapegrad/autograd/op_list.hpp>
#undef TAPEGRAD_OP
#undef TAPEGRAD_DEFAULT
#undef TAPEGRAD_FAMILY

// ---- brace lists: concat({a, b}) ------------------------------------------------
// A brace list cannot deduce T for a TensorList<T> parameter; these can.
/// concat(TensorList<T>(tensors), axis).
template <class T> Tensor<T> concat(std::initializer_list<Tensor<T>> tensors, int axis = 0) {
    return concat(TensorList<T>(tensors), axis);
}
/// stack(TensorList<T>(tensors), axis).
template <class T> Tensor<T> stack(std::initializer_list<Tensor<T>> tensors, int axis = 0) {
    return stack(TensorList<T>(tensors), axis);
}

// ---- operators: sugar over the ops ----------------------------------------------
/// add(a, b).
template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
/// sub(a, b).
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
/// mul(a, b), elementwise (matmul() is the matrix product).
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
/// div(a, b).
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
/// neg(a).
template <class T> Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }
/// add(a, s).
template <class T> Tensor<T> operator+(const Tensor<T>& a, Scalar<T> s) { return add(a, s); }
/// add(a, s).
template <class T> Tensor<T> operator+(Scalar<T> s, const Tensor<T>& a) { return add(a, s); }
/// add(a, -s).
template <class T> Tensor<T> operator-(const Tensor<T>& a, Scalar<T> s) { return add(a, -s); }
/// rsub(s, a).
template <class T> Tensor<T> operator-(Scalar<T> s, const Tensor<T>& a) { return rsub(s, a); }
/// mul(a, s).
template <class T> Tensor<T> operator*(const Tensor<T>& a, Scalar<T> s) { return mul(a, s); }
/// mul(a, s).
template <class T> Tensor<T> operator*(Scalar<T> s, const Tensor<T>& a) { return mul(a, s); }
/// mul(a, 1 / s).
template <class T> Tensor<T> operator/(const Tensor<T>& a, Scalar<T> s) { return mul(a, T(1) / s); }
/// rdiv(s, a).
template <class T> Tensor<T> operator/(Scalar<T> s, const Tensor<T>& a) { return rdiv(s, a); }

}  // namespace tapegrad
