// Every differentiable operation of tapegrad. Each is a free function that
// computes its value and records, next to it, how to map the output's gradient
// to its inputs' (autograd/ops/<family>.cpp holds both, side by side; tape.hpp
// says how an op records).
//
// The ops themselves are listed in autograd/op_list.hpp, one entry each with
// its parameters and a line on what it does: this header declares them from
// that list, and the list is the table to read. Adding an op is an entry
// there, its definition in ops/<family>.cpp, and its gradient tests in
// tests/autograd (README, "Adding an op").
//
// Shape errors throw tapegrad::Error naming the operation and the shapes.
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

// Scalars are taken in a non-deduced context, so `x * 2.0` works for a float
// tensor: the tensor alone decides T.
template <class T>
struct identity { using type = T; };
template <class T>
using Scalar = typename identity<T>::type;

// The broadcast shape of two shapes (numpy rules); throws naming `op`.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

enum class Reduction { Mean, Sum };

// ---- the ops: one declaration per entry of op_list.hpp --------------------
//   template <class T> Tensor<T> name(parameters);
#define TAPEGRAD_FAMILY(family) 1
#define TAPEGRAD_DEFAULT(value) = value
#define TAPEGRAD_OP(key, returns, name, parameters) template <class T> returns name parameters;
#include <tapegrad/autograd/op_list.hpp>
#undef TAPEGRAD_OP
#undef TAPEGRAD_DEFAULT
#undef TAPEGRAD_FAMILY

// ---- operators: sugar over the ops ----------------------------------------------
template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }
template <class T> Tensor<T> operator+(const Tensor<T>& a, Scalar<T> s) { return add(a, s); }
template <class T> Tensor<T> operator+(Scalar<T> s, const Tensor<T>& a) { return add(a, s); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, Scalar<T> s) { return add(a, -s); }
template <class T> Tensor<T> operator-(Scalar<T> s, const Tensor<T>& a) { return rsub(s, a); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, Scalar<T> s) { return mul(a, s); }
template <class T> Tensor<T> operator*(Scalar<T> s, const Tensor<T>& a) { return mul(a, s); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, Scalar<T> s) { return mul(a, T(1) / s); }
template <class T> Tensor<T> operator/(Scalar<T> s, const Tensor<T>& a) { return rdiv(s, a); }

}  // namespace tapegrad
