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
/// it divides by) or their sum.
enum class Reduction { Mean, Sum };

/// Which form of gelu: the exact one with erf (PyTorch's approximate="none")
/// or PyTorch's tanh approximation (approximate="tanh").
enum class GeluApproximate { None, Tanh };

/// What torch.max(a, dim) and torch.min(a, dim) return: the extreme values
/// along the axis (differentiable) and their indices along it.
template <class T>
struct ValuesIndices {
    Tensor<T> values;  ///< the maxima (or minima), as max(a, axis, keepdims)
    Indices indices;   ///< where they are along the axis, as argmax(a, axis, keepdims)
};

// ---- the ops: one declaration per entry of op_list.hpp --------------------
//   template <class T> Tensor<T> name(parameters);
#define TAPEGRAD_FAMILY(family) 1
#define TAPEGRAD_DEFAULT(value) = value
#define TAPEGRAD_OP(key, returns, name, parameters) template <class T> returns name parameters;
#define TAPEGRAD_NOGRAD_OP(key, returns, name, parameters) template <class T> returns name parameters;
#include <tapegrad/autograd/op_list.hpp>
#undef TAPEGRAD_NOGRAD_OP
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
