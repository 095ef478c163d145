// Every differentiable operation of tapegrad. Each is a free function that
// computes its value and records, next to it, how to map the output's gradient
// to its inputs' (autograd/ops/<family>.cpp holds both, side by side):
//
//   ops/elementwise.cpp  add sub mul div neg (numpy broadcasting) and scalar forms
//   ops/shape.cpp        reshape transpose broadcast_to sum_to
//   ops/unary.cpp        exp log pow sqrt abs
//   ops/activation.cpp   sigmoid tanh relu
//   ops/matmul.cpp       matmul (BLAS gemm, transposes passed as flags)
//   ops/reduce.cpp       sum mean max
//   ops/softmax.cpp      softmax log_softmax (stable)
//   ops/loss.cpp         nll_loss cross_entropy mse_loss
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

// ---- elementwise, broadcasting -------------------------------------------
template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> neg(const Tensor<T>& a);
template <class T> Tensor<T> add(const Tensor<T>& a, Scalar<T> s);
template <class T> Tensor<T> mul(const Tensor<T>& a, Scalar<T> s);
template <class T> Tensor<T> rsub(Scalar<T> s, const Tensor<T>& a);  // s - a
template <class T> Tensor<T> rdiv(Scalar<T> s, const Tensor<T>& a);  // s / a

// The broadcast shape of two shapes (numpy rules); throws naming `op`.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

// ---- shape ----------------------------------------------------------------
template <class T> Tensor<T> reshape(const Tensor<T>& a, const Shape& shape);
template <class T> Tensor<T> transpose(const Tensor<T>& a);  // 2-D
template <class T> Tensor<T> broadcast_to(const Tensor<T>& a, const Shape& shape);
// Sums a broadcast gradient back to `shape`: the reverse of broadcast_to.
template <class T> Tensor<T> sum_to(const Tensor<T>& a, const Shape& shape);

// ---- unary ----------------------------------------------------------------
template <class T> Tensor<T> exp(const Tensor<T>& a);
template <class T> Tensor<T> log(const Tensor<T>& a);
template <class T> Tensor<T> pow(const Tensor<T>& a, Scalar<T> exponent);
template <class T> Tensor<T> sqrt(const Tensor<T>& a);
template <class T> Tensor<T> abs(const Tensor<T>& a);

// ---- activations ------------------------------------------------------------
template <class T> Tensor<T> sigmoid(const Tensor<T>& a);
template <class T> Tensor<T> tanh(const Tensor<T>& a);
template <class T> Tensor<T> relu(const Tensor<T>& a);

// ---- linear algebra ---------------------------------------------------------
// op(a) @ op(b) for 2-D tensors, op = transpose where the flag is set. The
// transposes are handed to BLAS as flags; nothing is copied.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a = false, bool transpose_b = false);

// ---- reductions (axis may be negative: -1 is the last) ----------------------
template <class T> Tensor<T> sum(const Tensor<T>& a);
template <class T> Tensor<T> sum(const Tensor<T>& a, int axis, bool keepdims = false);
template <class T> Tensor<T> mean(const Tensor<T>& a);
template <class T> Tensor<T> mean(const Tensor<T>& a, int axis, bool keepdims = false);
// The gradient goes to the first maximum along the axis, as in torch.max(dim).
template <class T> Tensor<T> max(const Tensor<T>& a, int axis, bool keepdims = false);

// ---- softmax ------------------------------------------------------------------
template <class T> Tensor<T> softmax(const Tensor<T>& a, int axis = -1);
template <class T> Tensor<T> log_softmax(const Tensor<T>& a, int axis = -1);

// ---- losses -------------------------------------------------------------------
enum class Reduction { Mean, Sum };

// -sum_i log_probs[i, labels[i]], divided by the batch size for Mean.
template <class T> Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& labels, Reduction r = Reduction::Mean);
// Softmax cross-entropy from logits (batch x classes), fused and stable.
template <class T> Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& labels, Reduction r = Reduction::Mean);
// With a target distribution (one-hot or probabilities) of the logits' shape.
template <class T> Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& targets, Reduction r = Reduction::Mean);
// Mean (or sum) of squared differences; shapes must match exactly.
template <class T> Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction r = Reduction::Mean);

// ---- operators ------------------------------------------------------------------
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
