/// \file
/// Every op of tapegrad, one entry each, from which the rest follows: ops.hpp
/// declares the ops, each `autograd/ops/<family>.cpp` instantiates its section
/// `#if TAPEGRAD_FAMILY(family)` for float and double, and tests/autograd fails
/// unless every entry has passed its checks on several shapes.
///
///     TAPEGRAD_OP(key, returns, name, (parameters))          T is float or double
///     TAPEGRAD_NOGRAD_OP(key, returns, name, (parameters))   never recorded
///
/// key is unique (overloads share `name`) and names the op's tape node;
/// TAPEGRAD_DEFAULT(v) gives a parameter the default argument v. A NOGRAD entry
/// (what derivatives.yaml marks non-differentiable) is tested by
/// check_no_gradient, the others by check_gradients (tests/autograd/check.hpp).
/// Included several times with the macros defined by the includer: no include
/// guard. Each entry's `///` comment is its op's documentation; the fields are
/// explained in docs/adding-an-op.md.

// An includer that does not tell the two kinds apart gets NOGRAD entries as OPs.
#ifndef TAPEGRAD_NOGRAD_OP
#define TAPEGRAD_NOGRAD_OP(key, returns, name, parameters) TAPEGRAD_OP(key, returns, name, parameters)
#define TAPEGRAD_NOGRAD_OP_IS_OP
#endif

#if TAPEGRAD_FAMILY(elementwise)
/// \name Elementwise ops (ops/elementwise.cpp)
/// numpy broadcasting; a broadcast input's gradient is summed back to its shape.
/// Two shapes that do not broadcast throw tapegrad::Error naming the op and both.
/// The operators + - * / of ops.hpp call these.
//@{
TAPEGRAD_OP(add, Tensor<T>, add, (const Tensor<T>& a, const Tensor<T>& b))  ///< a + b
TAPEGRAD_OP(sub, Tensor<T>, sub, (const Tensor<T>& a, const Tensor<T>& b))  ///< a - b
TAPEGRAD_OP(mul, Tensor<T>, mul, (const Tensor<T>& a, const Tensor<T>& b))  ///< a * b, elementwise
TAPEGRAD_OP(div, Tensor<T>, div, (const Tensor<T>& a, const Tensor<T>& b))  ///< a / b
TAPEGRAD_OP(neg, Tensor<T>, neg, (const Tensor<T>& a))                      ///< -a
TAPEGRAD_OP(add_scalar, Tensor<T>, add, (const Tensor<T>& a, Scalar<T> s))  ///< a + s (and a - s)
TAPEGRAD_OP(mul_scalar, Tensor<T>, mul, (const Tensor<T>& a, Scalar<T> s))  ///< a * s (and a / s)
TAPEGRAD_OP(rsub_scalar, Tensor<T>, rsub, (Scalar<T> s, const Tensor<T>& a))  ///< s - a
TAPEGRAD_OP(rdiv_scalar, Tensor<T>, rdiv, (Scalar<T> s, const Tensor<T>& a))  ///< s / a
//@}
#endif

#if TAPEGRAD_FAMILY(compare)
/// \name Comparisons and selection (ops/compare.cpp)
/// Each output element is one of the inputs' elements, chosen by comparing
/// values; the gradient goes back to the element chosen. numpy broadcasting
/// (a broadcast input's gradient is summed back to its shape); shapes that do
/// not broadcast throw tapegrad::Error naming the op and the shapes.
//@{
/// The larger of a and b, elementwise; as in PyTorch, NaN where either is NaN
/// and half the gradient to each where they are equal.
TAPEGRAD_OP(maximum, Tensor<T>, maximum, (const Tensor<T>& a, const Tensor<T>& b))
/// The smaller of a and b, elementwise (NaN as maximum); ties split the
/// gradient as maximum.
TAPEGRAD_OP(minimum, Tensor<T>, minimum, (const Tensor<T>& a, const Tensor<T>& b))
/// a limited to [min, max] (either bound may be left out, not both; NaN bounds
/// throw; NaN elements stay NaN). As in PyTorch, the gradient passes where min
/// <= a <= max, bounds included; when min > max every element is max.
TAPEGRAD_OP(clamp, Tensor<T>, clamp,
            (const Tensor<T>& a, std::optional<Scalar<T>> min TAPEGRAD_DEFAULT(std::nullopt),
             std::optional<Scalar<T>> max TAPEGRAD_DEFAULT(std::nullopt)))
/// a where condition is 1, b where it is 0. condition holds only 0s and 1s
/// (anything else throws; build it with xtensor, e.g.
/// `Tensor<T>(xt::cast<T>(x.data() > 0))`) and gets no gradient: as a bool
/// mask in PyTorch, it is not differentiated.
TAPEGRAD_OP(where, Tensor<T>, where, (const Tensor<T>& condition, const Tensor<T>& a, const Tensor<T>& b))
//@}
#endif

#if TAPEGRAD_FAMILY(logic)
/// \name Comparisons and logical ops: masks (ops/logic.cpp)
/// Each gives a mask, 0s and 1s (1 where true) of the inputs' broadcast shape
/// (shapes that do not broadcast throw tapegrad::Error naming the op and both)
/// that never requires a gradient, as PyTorch's bool tensors; `where` takes it
/// as its condition. NaN is unequal to everything, itself included (IEEE):
/// every comparison with NaN is 0 but `ne`, 1. The logical ops read any
/// nonzero element (NaN too) as true, as torch.logical_and.
//@{
TAPEGRAD_NOGRAD_OP(eq, Tensor<T>, eq, (const Tensor<T>& a, const Tensor<T>& b))  ///< a == b
TAPEGRAD_NOGRAD_OP(ne, Tensor<T>, ne, (const Tensor<T>& a, const Tensor<T>& b))  ///< a != b
TAPEGRAD_NOGRAD_OP(lt, Tensor<T>, lt, (const Tensor<T>& a, const Tensor<T>& b))  ///< a < b
TAPEGRAD_NOGRAD_OP(le, Tensor<T>, le, (const Tensor<T>& a, const Tensor<T>& b))  ///< a <= b
TAPEGRAD_NOGRAD_OP(gt, Tensor<T>, gt, (const Tensor<T>& a, const Tensor<T>& b))  ///< a > b
TAPEGRAD_NOGRAD_OP(ge, Tensor<T>, ge, (const Tensor<T>& a, const Tensor<T>& b))  ///< a >= b
TAPEGRAD_NOGRAD_OP(eq_scalar, Tensor<T>, eq, (const Tensor<T>& a, Scalar<T> s))  ///< a == s
TAPEGRAD_NOGRAD_OP(ne_scalar, Tensor<T>, ne, (const Tensor<T>& a, Scalar<T> s))  ///< a != s
TAPEGRAD_NOGRAD_OP(lt_scalar, Tensor<T>, lt, (const Tensor<T>& a, Scalar<T> s))  ///< a < s
TAPEGRAD_NOGRAD_OP(le_scalar, Tensor<T>, le, (const Tensor<T>& a, Scalar<T> s))  ///< a <= s
TAPEGRAD_NOGRAD_OP(gt_scalar, Tensor<T>, gt, (const Tensor<T>& a, Scalar<T> s))  ///< a > s
TAPEGRAD_NOGRAD_OP(ge_scalar, Tensor<T>, ge, (const Tensor<T>& a, Scalar<T> s))  ///< a >= s
TAPEGRAD_NOGRAD_OP(logical_and, Tensor<T>, logical_and, (const Tensor<T>& a, const Tensor<T>& b))  ///< a != 0 and b != 0
TAPEGRAD_NOGRAD_OP(logical_or, Tensor<T>, logical_or, (const Tensor<T>& a, const Tensor<T>& b))  ///< a != 0 or b != 0
TAPEGRAD_NOGRAD_OP(logical_xor, Tensor<T>, logical_xor, (const Tensor<T>& a, const Tensor<T>& b))  ///< (a != 0) != (b != 0)
TAPEGRAD_NOGRAD_OP(logical_not, Tensor<T>, logical_not, (const Tensor<T>& a))  ///< a == 0
TAPEGRAD_NOGRAD_OP(isnan, Tensor<T>, isnan, (const Tensor<T>& a))  ///< 1 where a is NaN
TAPEGRAD_NOGRAD_OP(isinf, Tensor<T>, isinf, (const Tensor<T>& a))  ///< 1 where a is +inf or -inf
TAPEGRAD_NOGRAD_OP(isfinite, Tensor<T>, isfinite, (const Tensor<T>& a))  ///< 1 where a is neither NaN nor infinite
//@}
#endif

#if TAPEGRAD_FAMILY(shape)
/// \name Shape ops (ops/shape.cpp)
/// Values moved without arithmetic. A shape that does not fit throws
/// tapegrad::Error naming the op and both shapes.
//@{
/// The same values, row-major, in `shape`, which must hold as many elements.
TAPEGRAD_OP(reshape, Tensor<T>, reshape, (const Tensor<T>& a, const Shape& shape))
TAPEGRAD_OP(transpose, Tensor<T>, transpose, (const Tensor<T>& a))  ///< 2-D: rows become columns; other ranks throw
/// `a` repeated along its axes of size 1 (and new leading ones) to `shape`,
/// numpy's rules; `a` itself when it already has that shape.
TAPEGRAD_OP(broadcast_to, Tensor<T>, broadcast_to, (const Tensor<T>& a, const Shape& shape))
/// Sums a broadcast gradient back to `shape`: the reverse of broadcast_to.
TAPEGRAD_OP(sum_to, Tensor<T>, sum_to, (const Tensor<T>& a, const Shape& shape))
//@}
#endif

#if TAPEGRAD_FAMILY(layout)
/// \name Layout ops (ops/layout.cpp)
/// Values moved to new places without arithmetic, into a new row-major array.
/// ops.hpp adds transpose(a, dim0, dim1) over permute and expand over
/// broadcast_to. Bad arguments throw tapegrad::Error naming the op, the shape
/// and the arguments.
//@{
/// `a` with its axes reordered, as torch.permute: axis i of the result is axis
/// dims[i] of `a`. `dims` is a permutation of the axes (negative ones count
/// from the end). The values are copied into a new row-major array (PyTorch
/// gives a view; here nothing aliases). Its gradient is the inverse permute.
TAPEGRAD_OP(permute, Tensor<T>, permute, (const Tensor<T>& a, const std::vector<int>& dims))
/// `a` tiled `repeats[i]` times along each axis, as torch.Tensor.repeat:
/// repeats has at least a.dim() entries, extra leading ones add new axes
/// (`a` is aligned to the right); a repeat of 0 gives an empty axis. The
/// gradient sums the tiles.
TAPEGRAD_OP(repeat, Tensor<T>, repeat, (const Tensor<T>& a, const std::vector<std::size_t>& repeats))
//@}
#endif

#if TAPEGRAD_FAMILY(join)
/// \name Joining and selecting (ops/join.cpp)
/// Values copied along one axis, without arithmetic. `axis` may be negative,
/// -1 is the last; an axis out of range, an empty list, shapes that do not fit
/// and indices out of range throw tapegrad::Error naming the op and the
/// shapes (and the index). concat and narrow are each other's gradient, as
/// are index_select and index_add.
//@{
/// The tensors joined end to end along `axis`, of one rank and the same extents
/// on every other axis; ops.hpp also takes a brace list, `concat({a, b}, 1)`.
TAPEGRAD_OP(concat, Tensor<T>, concat, (const TensorList<T>& tensors, int axis TAPEGRAD_DEFAULT(0)))
/// The tensors, all of one shape, stacked along a new axis at `axis` in [-(dim
/// + 1), dim] (0-d tensors stack into a vector); a brace list works too.
TAPEGRAD_OP(stack, Tensor<T>, stack, (const TensorList<T>& tensors, int axis TAPEGRAD_DEFAULT(0)))
/// `length` consecutive slices of `a` along `axis` from `start` (negative
/// counts from the end), as torch.narrow; start and length must fit the axis.
TAPEGRAD_OP(narrow, Tensor<T>, narrow, (const Tensor<T>& a, int axis, std::int64_t start, std::int64_t length))
/// The slices of `a` at `indices` (each in [0, extent), repeats allowed: their
/// gradients add up) along `axis`, in their order, as torch.index_select.
TAPEGRAD_OP(index_select, Tensor<T>, index_select, (const Tensor<T>& a, int axis, const Labels& indices))
/// `a` with slice j of `source` added at slice indices[j] along `axis`
/// (repeats add up), as torch.index_add. source has a's shape except for
/// indices.size() along `axis`.
TAPEGRAD_OP(index_add, Tensor<T>, index_add,
            (const Tensor<T>& a, int axis, const Labels& indices, const Tensor<T>& source))
//@}
#endif

#if TAPEGRAD_FAMILY(gather)
/// \name Gathering and scattering by index arrays (ops/gather.cpp)
/// An index array (Indices, autograd/labels.hpp) of `a`'s rank picks one
/// element along `axis` (negative counts from the end; a 0-d tensor is one
/// element along axis 0 or -1) per position, as torch.gather and scatter_add.
/// A rank that differs, an index array larger than the tensors outside `axis`
/// and an index out of [0, extent) throw tapegrad::Error naming the op, the
/// shapes and the index. gather and scatter_add are each other's gradient.
//@{
/// out[i][j][k] = a[index[i][j][k]][j][k] for axis 0 (and so on for the other
/// axes), of index's shape.
TAPEGRAD_OP(gather, Tensor<T>, gather, (const Tensor<T>& a, int axis, const Indices& index))
/// `a` with src[i][j][k] added at [index[i][j][k]][j][k] for axis 0 (and so
/// on), for every position of `index` (repeats add up). src may be larger
/// than index: its elements outside index's shape are not used and get a
/// zero gradient.
TAPEGRAD_OP(scatter_add, Tensor<T>, scatter_add,
            (const Tensor<T>& a, int axis, const Indices& index, const Tensor<T>& src))
//@}
#endif

#if TAPEGRAD_FAMILY(mask)
/// \name Masking (ops/mask.cpp)
/// Elements replaced by a constant where a mask says so; the gradient is the
/// output's, zero where the element was replaced. Bad shapes or masks throw
/// tapegrad::Error naming the op and the shapes.
//@{
/// `a` with `value` where `mask` is 1, as torch.masked_fill. mask holds only
/// 0s and 1s (the condition of where; anything else throws) and broadcasts
/// to a's shape. value may be NaN or +-inf (-inf masks attention logits). As
/// where's condition, the mask is a constant: it gets no gradient.
TAPEGRAD_OP(masked_fill, Tensor<T>, masked_fill, (const Tensor<T>& a, const Tensor<T>& mask, Scalar<T> value))
/// The lower triangle of the last two axes of `a` (rank >= 2, any leading
/// batch axes), as torch.tril: element (i, j) is kept where j - i <=
/// diagonal, else 0 (NaN and inf too: they are replaced, not multiplied).
TAPEGRAD_OP(tril, Tensor<T>, tril, (const Tensor<T>& a, std::int64_t diagonal TAPEGRAD_DEFAULT(0)))
/// The upper triangle, as torch.triu: (i, j) is kept where j - i >= diagonal.
TAPEGRAD_OP(triu, Tensor<T>, triu, (const Tensor<T>& a, std::int64_t diagonal TAPEGRAD_DEFAULT(0)))
//@}
#endif

#if TAPEGRAD_FAMILY(unary)
/// \name Unary math (ops/unary.cpp)
/// Elementwise, any shape. Outside an op's domain the result is NaN or Inf,
/// as in std:: (a DetectAnomalyGuard turns that into an Error).
//@{
TAPEGRAD_OP(exp, Tensor<T>, exp, (const Tensor<T>& a))  ///< e^a
TAPEGRAD_OP(log, Tensor<T>, log, (const Tensor<T>& a))  ///< natural logarithm
/// a^exponent, elementwise, for a scalar exponent (exponent 0 has gradient 0).
TAPEGRAD_OP(pow, Tensor<T>, pow, (const Tensor<T>& a, Scalar<T> exponent))
TAPEGRAD_OP(sqrt, Tensor<T>, sqrt, (const Tensor<T>& a))  ///< square root
TAPEGRAD_OP(abs, Tensor<T>, abs, (const Tensor<T>& a))  ///< |a|; gradient 0 at 0, as in PyTorch
TAPEGRAD_OP(log1p, Tensor<T>, log1p, (const Tensor<T>& a))  ///< log(1 + a), accurate for small a
TAPEGRAD_OP(erf, Tensor<T>, erf, (const Tensor<T>& a))  ///< the error function, 2/sqrt(pi) * integral of e^-t^2 from 0 to a
//@}
#endif

#if TAPEGRAD_FAMILY(activation)
/// \name Activations (ops/activation.cpp)
/// Elementwise, any shape; nn/activation.hpp wraps them as modules.
//@{
TAPEGRAD_OP(sigmoid, Tensor<T>, sigmoid, (const Tensor<T>& a))  ///< 1 / (1 + e^-a)
TAPEGRAD_OP(tanh, Tensor<T>, tanh, (const Tensor<T>& a))  ///< hyperbolic tangent
TAPEGRAD_OP(relu, Tensor<T>, relu, (const Tensor<T>& a))  ///< max(a, 0), NaN kept; gradient 0 where a <= 0, as in PyTorch
/// a where a > 0, negative_slope * a elsewhere (gradient negative_slope at 0,
/// as in PyTorch).
TAPEGRAD_OP(leaky_relu, Tensor<T>, leaky_relu, (const Tensor<T>& a, Scalar<T> negative_slope TAPEGRAD_DEFAULT(0.01)))
/// log(1 + e^(beta a)) / beta, and a itself where beta a > threshold (there
/// the two differ by less than e^-threshold / beta), as PyTorch's softplus.
/// beta must be finite and > 0, else tapegrad::Error.
TAPEGRAD_OP(softplus, Tensor<T>, softplus,
            (const Tensor<T>& a, Scalar<T> beta TAPEGRAD_DEFAULT(1), Scalar<T> threshold TAPEGRAD_DEFAULT(20)))
/// a * Phi(a), Phi the standard normal distribution function, computed with
/// erf (GeluApproximate::None, PyTorch's default), or PyTorch's tanh
/// approximation 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))).
TAPEGRAD_OP(gelu, Tensor<T>, gelu, (const Tensor<T>& a, GeluApproximate approximate TAPEGRAD_DEFAULT(GeluApproximate::None)))
//@}
#endif

#if TAPEGRAD_FAMILY(matmul)
/// \name Matrix product (ops/matmul.cpp)
//@{
/// op(a) @ op(b) with torch.matmul's rules, op = transpose of the last two
/// axes where its flag is set (handed to BLAS as a flag, never copied): 2-D @
/// 2-D is the matrix product; a 1-D `a` is a (1, k) row and a 1-D `b` a (k, 1)
/// column, that axis dropped from the result (1-D @ 1-D is the dot product,
/// shape ()); with more axes, all but the last two are batch axes, which
/// broadcast (numpy's rules): (2, 1, 3, 4) @ (5, 4, 2) is (2, 5, 3, 2).
/// Throws tapegrad::Error naming both shapes for a 0-d operand, a flag on a
/// 1-D one, inner extents that differ or batch axes that do not broadcast.
TAPEGRAD_OP(matmul, Tensor<T>, matmul,
            (const Tensor<T>& a, const Tensor<T>& b, bool transpose_a TAPEGRAD_DEFAULT(false),
             bool transpose_b TAPEGRAD_DEFAULT(false)))
/// input @ weight^T + bias, as torch.nn.functional.linear (nn::Linear): input
/// (batch, in), weight (out, in), bias (out); one product, the bias already in
/// its output. Other shapes throw tapegrad::Error naming them.
TAPEGRAD_OP(linear, Tensor<T>, linear, (const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias))
//@}
#endif

#if TAPEGRAD_FAMILY(reduce)
/// \name Reductions (ops/reduce.cpp)
/// axis may be negative, -1 is the last; an axis out of range throws
/// tapegrad::Error naming the op, the axis and the shape. keepdims keeps the
/// reduced axis with size 1, so the result broadcasts against `a`.
//@{
TAPEGRAD_OP(sum, Tensor<T>, sum, (const Tensor<T>& a))  ///< of all elements, shape ()
/// Sum along `axis`.
TAPEGRAD_OP(sum_axis, Tensor<T>, sum, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
TAPEGRAD_OP(mean, Tensor<T>, mean, (const Tensor<T>& a))  ///< of all elements, shape (); empty `a` throws
/// Mean along `axis`; an axis of extent 0 throws.
TAPEGRAD_OP(mean_axis, Tensor<T>, mean, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// Maximum along `axis`; an axis of extent 0 throws. NaN is the maximum of
/// a slice that holds one, as in PyTorch. The gradient goes to the first
/// maximum along the axis (the first NaN), as in torch.max(dim).
TAPEGRAD_OP(max, Tensor<T>, max, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// Minimum along `axis`, as max (NaN is the minimum of a slice with one).
TAPEGRAD_OP(min, Tensor<T>, min, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// torch.max(a, dim): the maxima along `axis` (max's values and gradient)
/// and where they are, argmax(a, axis, keepdims).
TAPEGRAD_OP(max_with_indices, ValuesIndices<T>, max_with_indices,
            (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// torch.min(a, dim): min's values and argmin's indices.
TAPEGRAD_OP(min_with_indices, ValuesIndices<T>, min_with_indices,
            (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// The index of the first maximum of the flattened `a` (row-major), shape ();
/// the first NaN if there is one, as torch.argmax. Empty `a` throws.
TAPEGRAD_NOGRAD_OP(argmax, Indices, argmax, (const Tensor<T>& a))
/// The index along `axis` of the first maximum of each slice (the first NaN
/// if it holds one); an axis of extent 0 throws.
TAPEGRAD_NOGRAD_OP(argmax_axis, Indices, argmax, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// argmax of the flattened `a`, for the minimum.
TAPEGRAD_NOGRAD_OP(argmin, Indices, argmin, (const Tensor<T>& a))
/// argmax along `axis`, for the minimum.
TAPEGRAD_NOGRAD_OP(argmin_axis, Indices, argmin, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
/// log(sum(exp(a))) along `axis`, stable: the maximum is subtracted before
/// exp and added back after log, so logits of 1000 are fine. An axis of
/// extent 0 gives -inf, as log(0) (and as in PyTorch).
TAPEGRAD_OP(logsumexp, Tensor<T>, logsumexp, (const Tensor<T>& a, int axis, bool keepdims TAPEGRAD_DEFAULT(false)))
//@}
#endif

#if TAPEGRAD_FAMILY(softmax)
/// \name Softmax (ops/softmax.cpp)
/// stable (the maximum is subtracted first), along `axis` (negative counts
/// from the end; out of range throws tapegrad::Error).
//@{
/// exp(a) / sum(exp(a)) along `axis`: each slice along it sums to 1.
TAPEGRAD_OP(softmax, Tensor<T>, softmax, (const Tensor<T>& a, int axis TAPEGRAD_DEFAULT(-1)))
/// log(softmax(a, axis)), which never takes the log of a probability rounded
/// to zero: use it (or cross_entropy) rather than log(softmax(...)).
TAPEGRAD_OP(log_softmax, Tensor<T>, log_softmax, (const Tensor<T>& a, int axis TAPEGRAD_DEFAULT(-1)))
//@}
#endif

#if TAPEGRAD_FAMILY(loss)
/// \name Losses (ops/loss.cpp)
/// PyTorch's losses; nn/loss.hpp wraps them as modules. Reduction::Mean and
/// Sum give a scalar (shape ()), Reduction::None the loss of each element (of
/// each target for nll_loss and cross_entropy). Inputs of the wrong shape
/// throw tapegrad::Error naming the loss and the shapes.
///
/// nll_loss and cross_entropy take the classes along the LAST axis of (..., C)
/// (PyTorch's numbers on input.view(-1, C)) and one class target per row:
/// Labels for (N, C), or Indices of the input's shape without its last axis.
/// A target equal to ignore_index adds 0 and gets no gradient; any other
/// outside [0, C) throws. Mean divides by the targets not ignored (NaN if none).
//@{
/// -log_probs[i, target_i] per row i of log-probabilities (N, C), as
/// torch.nn.functional.nll_loss.
TAPEGRAD_OP(nll_loss, Tensor<T>, nll_loss,
            (const Tensor<T>& log_probs, const Labels& labels,
             const NLLLossOptions& options TAPEGRAD_DEFAULT(NLLLossOptions())))
/// nll_loss over log-probabilities (..., C) with targets of shape (...).
TAPEGRAD_OP(nll_loss_indices, Tensor<T>, nll_loss,
            (const Tensor<T>& log_probs, const Indices& targets,
             const NLLLossOptions& options TAPEGRAD_DEFAULT(NLLLossOptions())))
/// Softmax cross-entropy from logits (N, C), fused and stable (logits of
/// +-1000 are fine), as torch.nn.functional.cross_entropy: per row
/// (1 - eps) (-log p[target]) + eps mean_c(-log p[c]), p = softmax(logits),
/// eps the options' label_smoothing. One node; its gradient is
/// (softmax - smoothed one-hot) times the row's scale.
TAPEGRAD_OP(cross_entropy, Tensor<T>, cross_entropy,
            (const Tensor<T>& logits, const Labels& labels,
             const CrossEntropyOptions& options TAPEGRAD_DEFAULT(CrossEntropyOptions())))
/// cross_entropy over logits (..., C) with targets of shape (...): a
/// sequence model's (B, T, C) logits against (B, T) tokens, padding ignored.
TAPEGRAD_OP(cross_entropy_indices, Tensor<T>, cross_entropy,
            (const Tensor<T>& logits, const Indices& targets,
             const CrossEntropyOptions& options TAPEGRAD_DEFAULT(CrossEntropyOptions())))
/// With a target distribution (one-hot or probabilities) of the logits'
/// shape (..., C): per row -sum_c t'[c] log_softmax(logits)[c], t' = (1 - eps)
/// t + eps / C; Mean divides by the number of rows (NaN for none). Gradients
/// reach the targets too. ignore_index must stay negative (PyTorch's check).
TAPEGRAD_OP(cross_entropy_targets, Tensor<T>, cross_entropy,
            (const Tensor<T>& logits, const Tensor<T>& targets,
             const CrossEntropyOptions& options TAPEGRAD_DEFAULT(CrossEntropyOptions())))
/// Squared differences; shapes must match exactly. Mean divides by the
/// number of elements (not the batch size).
TAPEGRAD_OP(mse_loss, Tensor<T>, mse_loss,
            (const Tensor<T>& input, const Tensor<T>& target, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean)))
/// Binary cross-entropy of probabilities sigmoid(logits) against targets in
/// [0, 1], from the logits and stable for any of them: per element
/// max(x, 0) - x t + log(1 + e^-|x|). targets has the logits' shape.
/// pos_weight, if given, weighs the positive term, (1 - t) x + (1 + (p - 1) t)
/// softplus(-x), and broadcasts to the logits' shape (one weight per class
/// along the last axis); as in PyTorch it gets no gradient, so one that
/// requires a gradient throws. Mean divides by the number of elements; it
/// throws on empty logits.
TAPEGRAD_OP(binary_cross_entropy_with_logits, Tensor<T>, binary_cross_entropy_with_logits,
            (const Tensor<T>& logits, const Tensor<T>& targets, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean),
             const Tensor<T>& pos_weight TAPEGRAD_DEFAULT(Tensor<T>())))
/// Huber loss, as PyTorch's: per element 0.5 d^2 where |d| < delta, else
/// delta (|d| - 0.5 delta), d = input - target (shapes must match exactly).
/// delta must be finite and > 0. Mean divides by the number of elements; it
/// throws on empty inputs.
TAPEGRAD_OP(huber_loss, Tensor<T>, huber_loss,
            (const Tensor<T>& input, const Tensor<T>& target, Reduction r TAPEGRAD_DEFAULT(Reduction::Mean),
             Scalar<T> delta TAPEGRAD_DEFAULT(1)))
//@}
#endif

#if TAPEGRAD_FAMILY(conv)
/// \name Convolution (ops/conv.cpp)
/// On batches of images (N, C, H, W), PyTorch's layout and arithmetic; the
/// geometry types are in autograd/conv_geometry.hpp. An output extent is
/// (H + 2 padding - dilation (kernel - 1) - 1) / stride + 1, rounded down.
/// Inputs that are not 4-D, channels that do not match the weight or do not
/// divide into the groups, a bias of the wrong shape and a kernel larger than
/// the padded input throw tapegrad::Error naming the op and the shapes.
//@{
/// 2-D cross-correlation (PyTorch's conv2d) of `input` (N, C, H, W) with
/// `weight` (O, C / groups, kh, kw), plus `bias` (O,) unless it is undefined;
/// gives (N, O, OH, OW). Computed as im2col and a matrix product per image.
TAPEGRAD_OP(conv2d, Tensor<T>, conv2d,
            (const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias TAPEGRAD_DEFAULT(Tensor<T>()),
             const Conv2dGeometry& geometry TAPEGRAD_DEFAULT(Conv2dGeometry())))
/// The gradient of conv2d with respect to its input, for `grad` (N, O, OH, OW)
/// of its output: the transposed convolution of `grad` with `weight`, of
/// shape `input_shape`. Linear in `grad` and in `weight`, so its own
/// gradients are conv2d and conv2d_weight_grad.
TAPEGRAD_OP(conv2d_input_grad, Tensor<T>, conv2d_input_grad,
            (const Tensor<T>& grad, const Tensor<T>& weight, const Shape& input_shape,
             const Conv2dGeometry& geometry TAPEGRAD_DEFAULT(Conv2dGeometry())))
/// The gradient of conv2d with respect to its weight, for `grad` (N, O, OH,
/// OW) of its output: the correlation of `input` with `grad`, summed over the
/// batch, of shape `weight_shape`. Bilinear, like conv2d_input_grad.
TAPEGRAD_OP(conv2d_weight_grad, Tensor<T>, conv2d_weight_grad,
            (const Tensor<T>& input, const Tensor<T>& grad, const Shape& weight_shape,
             const Conv2dGeometry& geometry TAPEGRAD_DEFAULT(Conv2dGeometry())))
//@}
#endif

#if TAPEGRAD_FAMILY(pool)
/// \name Pooling (ops/pool.cpp)
/// On batches of images (N, C, H, W), PyTorch's layout and arithmetic, with
/// the output extents of convolution. Inputs that are not 4-D, a kernel larger
/// than the padded input, padding over half the kernel and a window of padding
/// only throw tapegrad::Error naming the op and the shapes.
//@{
/// Maximum over each kernel window of `input` (N, C, H, W), as PyTorch's
/// max_pool2d: `stride` defaults to the kernel, padding counts as -inf (at
/// most half the kernel). The gradient goes to the first maximum in the
/// window's row-major scan (PyTorch's CPU kernel; a NaN always wins).
TAPEGRAD_OP(max_pool2d, Tensor<T>, max_pool2d,
            (const Tensor<T>& input, Size2 kernel, Size2 stride TAPEGRAD_DEFAULT(Size2()),
             Size2 padding TAPEGRAD_DEFAULT(Size2(0)), Size2 dilation TAPEGRAD_DEFAULT(Size2(1))))
/// Mean over each kernel window of `input` (N, C, H, W), as PyTorch's
/// avg_pool2d: `stride` defaults to the kernel; padding counts as zeros in the
/// divisor when `count_include_pad`, else the divisor is the number of input
/// pixels in the window.
TAPEGRAD_OP(avg_pool2d, Tensor<T>, avg_pool2d,
            (const Tensor<T>& input, Size2 kernel, Size2 stride TAPEGRAD_DEFAULT(Size2()),
             Size2 padding TAPEGRAD_DEFAULT(Size2(0)), bool count_include_pad TAPEGRAD_DEFAULT(true)))
/// The gradient of avg_pool2d (same arguments, `stride` resolved) with respect
/// to its input, of shape `input_shape`, for `grad` of its output: each
/// output's gradient spread evenly over its window. avg_pool2d is its gradient.
TAPEGRAD_OP(avg_pool2d_input_grad, Tensor<T>, avg_pool2d_input_grad,
            (const Tensor<T>& grad, const Shape& input_shape, Size2 kernel, Size2 stride, Size2 padding,
             bool count_include_pad))
/// out[i] = a.flat[index[i]], with out of shape `shape` (one index per
/// element; each < a.size()). Its gradient is put_add.
TAPEGRAD_OP(take, Tensor<T>, take, (const Tensor<T>& a, const FlatIndex& index, const Shape& shape))
/// zeros(shape), then out.flat[index[i]] += a.flat[i] for every element of
/// `a`: how max_pool2d's gradient reaches the maxima. Its gradient is take.
TAPEGRAD_OP(put_add, Tensor<T>, put_add, (const Tensor<T>& a, const FlatIndex& index, const Shape& shape))
//@}
#endif

#if TAPEGRAD_FAMILY(norm)
/// \name Regularisation and normalisation (ops/norm.cpp)
/// nn/dropout.hpp and nn/normalization.hpp wrap them as modules. An input of
/// a shape the op cannot take, or an option out of range, throws
/// tapegrad::Error naming the op and the shapes or the value.
//@{
/// Inverted dropout, as torch.nn.functional.dropout: in training, element k
/// (row-major) is kept and scaled by 1 / (1 - p) when the top 53 bits of
/// derive_seed(seed, k), as a double in [0, 1), are >= p, else zeroed; so the
/// mask depends on `seed` and the shape only, in float as in double (on a
/// batch shard, batch_shard.hpp, k counts from the shard's first row). `input`
/// itself when !training or p == 0; zeros when p == 1; p outside [0, 1] throws.
TAPEGRAD_OP(dropout, Tensor<T>, dropout, (const Tensor<T>& input, double p, bool training, std::uint64_t seed))
/// Batch normalisation, as torch.nn.functional.batch_norm, of `input` (N, C,
/// ...) per channel C: (x - mean) / sqrt(var + eps) * weight + bias. In
/// training, mean and biased var are the batch's over all axes but C (more
/// than one value per channel needed), and running_mean / running_var, if
/// given, are updated in place (no gradient) with the unbiased var: running =
/// (1 - momentum) running + momentum statistic; else they are used (and
/// required). All four have shape (C); weight and bias may be undefined (1 and
/// 0). momentum in [0, 1], eps finite and >= 0.
TAPEGRAD_OP(batch_norm, Tensor<T>, batch_norm,
            (const Tensor<T>& input, const Tensor<T>& running_mean, const Tensor<T>& running_var,
             const Tensor<T>& weight, const Tensor<T>& bias, bool training, double momentum TAPEGRAD_DEFAULT(0.1),
             double eps TAPEGRAD_DEFAULT(1e-5)))
/// Layer normalisation, as torch.nn.functional.layer_norm: each slice over the
/// last axes, `normalized_shape` (not empty), becomes (x - mean) / sqrt(var +
/// eps) * weight + bias with its own mean and biased var. weight and bias have
/// shape `normalized_shape` or are undefined (1 and 0). eps finite and >= 0.
TAPEGRAD_OP(layer_norm, Tensor<T>, layer_norm,
            (const Tensor<T>& input, const Shape& normalized_shape, const Tensor<T>& weight, const Tensor<T>& bias,
             double eps TAPEGRAD_DEFAULT(1e-5)))
//@}
#endif

#ifdef TAPEGRAD_NOGRAD_OP_IS_OP
#undef TAPEGRAD_NOGRAD_OP
#undef TAPEGRAD_NOGRAD_OP_IS_OP
#endif
