// Every differentiable op of tapegrad, one entry each. Everything else follows
// from this list: ops.hpp declares the ops from it, each autograd/ops/<family>.cpp
// instantiates its section of it for float and double, and tests/autograd fails
// unless every entry has passed gradcheck and gradgradcheck on several shapes.
//
//   TAPEGRAD_OP(key, returns, name, (parameters))   T is float or double
//
// - key: the entry's own name, unique; overloads share `name`, never `key`. An
//   op that records a tape node of its own names the node `key`.
// - TAPEGRAD_DEFAULT(v): a default argument, `= v` in the declaration.
// - Each section `#if TAPEGRAD_FAMILY(f)` holds the ops defined, each with its
//   backward beside it, in autograd/ops/f.cpp.
//
// Not an ordinary header: it is included several times, each time with the
// three macros defined by the includer (ops.hpp, autograd/ops/instantiate.hpp,
// tests/autograd/op_coverage.hpp), so it has no include guard.

// ---- ops/elementwise.cpp: numpy broadcasting; a broadcast input's gradient is summed back to its shape
#if TAPEGRAD_FAMILY(elementwise)
TAPEGRAD_OP(add, Tensor<T>, add, (const Tensor<T>& a, const Tensor<T>& b))  // a + b
TAPEGRAD_OP(sub, Tensor<T>, sub, (const Tensor<T>& a, const Tensor<T>& b))  // a - b
TAPEGRAD_OP(mul, Tensor<T>, mul, (const Tensor<T>& a, const Tensor<T>& b))  // a * b
TAPEGRAD_OP(div, Tensor<T>, div, (const Tensor<T>& a, const Tensor<T>& b))  // a / b
TAPEGRAD_OP(neg, Tensor<T>, neg, (const Tensor<T>& a))                      // -a
TAPEGRAD_OP(add_scalar, Tensor<T>, add, (const Tensor<T>& a, Scalar<T> s))  // a + s (and a - s)
TAPEGRAD_OP(mul_scalar, Tensor<T>, mul, (const Tensor<T>& a, Scalar<T> s))  // a * s (and a / s)
TAPEGRAD_OP(rsub_scalar, Tensor<T>, rsub, (Scalar<T> s, const Tensor<T>& a))  // s - a
TAPEGRAD_OP(rdiv_scalar, Tensor<T>, rdiv, (Scalar<T> s, const Tensor<T>& a))  // s / a
#endif

// ---- ops/shape.cpp: values moved without arithmetic
#if TAPEGRAD_FAMILY(shape)
TAPEGRAD_OP(reshape, Tensor<T>, reshape, (const Tensor<T>& a, const Shape& shape))
TAPEGRAD_OP(transpose, Tensor<T>, transpose, (const Tensor<T>& a))  // 2-D
TAPEGRAD_OP(broadcast_to, Tensor<T>, broadcast_to, (const Tensor<T>& a, const Shape& shape))
// Sums a broadcast gradient back to `shape`: the reverse of broadcast_to.
TAPEGRAD_OP(sum_to, Tensor<T>, sum_to, (const Tensor<T>& a, const Shape& shape))
#endif

// ---- ops/unary.cpp
#if TAPEGRAD_FAMILY(unary)
TAPEGRAD_OP(exp, Tensor<T>, exp, (const Tensor<T>& a))
TAPEGRAD_OP(log, Tensor<T>, log, (const Tensor<T>& a))
TAPEGRAD_OP(pow, Tensor<T>, pow, (const Tensor<T>& a, Scalar<T> exponent))
TAPEGRAD_OP(sqrt, Tensor<T>, sqrt, (const Tensor<T>& a))
TAPEGRAD_OP(abs, Tensor<T>, abs, (const Tensor<T>& a))  // gradient 0 at 0, as in PyTorch
#endif

// ---- ops/activation.cpp
#if TAPEGRAD_FAMILY(activation)
TAPEGRAD_OP(sigmoid, Tensor<T>, sigmoid, (const Tensor<T>& a))
TAPEGRAD_OP(tanh, Tensor<T>, tanh, (const Tensor<T>& a))
TAPEGRAD_OP(relu, Tensor<T>, relu, (const Tensor<T>& a))  // gradient 0 at 0, as in PyTorch
#endif

// ---- ops/matmul.cpp
#if TAPEGRAD_FAMILY(matmul)
// op(a) @ op(b) for 2-D tensors, op = transpose where the flag is set. The
// transposes are handed to BLAS as flags; nothing is copied.
TAPEGRAD_OP(matmul, Tensor<T>, matmul,
            (const Tensor<T>& a, const Tensor<T>& b, bool transpose_a TAPEGRAD_DEFAULT(false),
             bool transpose_b TAPEGRAD_DEFAULT(false)))
#endif

// ---- ops/reduce.cpp: axis may be negative, -1 is the last
#if TAPEGRAD_FAMILY(reduce)
TAPEGRAD_OP(sum, Tensor<T>, sum, (const Tensor<T>& a))  // of all elements, shape ()
TAPEGRAD_OP(sum_axis, Tensor<T>, sum, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
TAPEGRAD_OP(mean, Tensor<T>, mean, (const Tensor<T>& a))  // of all elements, shape ()
TAPEGRAD_OP(mean_axis, Tensor<T>, mean, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
// The gradient goes to the first maximum along the axis, as in torch.max(dim).
TAPEGRAD_OP(max, Tensor<T>, max, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
#endif

// ---- ops/softmax.cpp: stable (the maximum is subtracted first)
#if TAPEGRAD_FAMILY(softmax)
TAPEGRAD_OP(softmax, Tensor<T>, softmax, (const Tensor<T>& a, int axis TAPEGRAD_DEFAULT(-1)))
TAPEGRAD_OP(log_softmax, Tensor<T>, log_softmax, (const Tensor<T>& a, int axis TAPEGRAD_DEFAULT(-1)))
#endif

// ---- ops/loss.cpp
#if TAPEGRAD_FAMILY(loss)
// -sum_i log_probs[i, labels[i]], divided by the batch size for Mean.
TAPEGRAD_OP(nll_loss, Tensor<T>, nll_loss,
            (const Tensor<T>& log_probs, const Labels& labels, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean)))
// Softmax cross-entropy from logits (batch x classes), fused and stable.
TAPEGRAD_OP(cross_entropy, Tensor<T>, cross_entropy,
            (const Tensor<T>& logits, const Labels& labels, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean)))
// With a target distribution (one-hot or probabilities) of the logits' shape.
TAPEGRAD_OP(cross_entropy_targets, Tensor<T>, cross_entropy,
            (const Tensor<T>& logits, const Tensor<T>& targets, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean)))
// Mean (or sum) of squared differences; shapes must match exactly.
TAPEGRAD_OP(mse_loss, Tensor<T>, mse_loss,
            (const Tensor<T>& input, const Tensor<T>& target, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean)))
#endif
