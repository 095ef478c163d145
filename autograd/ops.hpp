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
/// tests/autograd (docs/adding-an-op.md lists the edits).
///
/// Shape errors throw tapegrad::Error naming the operation and the shapes.
/// An op that throws records nothing and changes none of its inputs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
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

namespace detail {
/// `axis` as an index into `shape`: a negative one counts from the end (-1 is
/// the last). Throws tapegrad::Error naming `op`, the axis and the shape when
/// it is out of range.
inline std::size_t normalize_axis(const char* op, int axis, const Shape& shape) {
    const int dim = int(shape.size());
    if (axis < -dim || axis >= dim)
        throw Error(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for shape " +
                    shape_str(shape));
    return std::size_t(axis < 0 ? axis + dim : axis);
}
}  // namespace detail

// ---- compositions: PyTorch's names for what the ops above already do -----------
// No tape nodes of their own: their gradients are those of the ops they call.
/// `a` with axes dim0 and dim1 exchanged, as torch.transpose, for any rank:
/// permute with those two axes swapped (negative axes count from the end; a
/// 0-d tensor takes 0 and -1, and is copied). The 2-D transpose(a)
/// above is transpose(a, 0, 1).
template <class T> Tensor<T> transpose(const Tensor<T>& a, int dim0, int dim1) {
    const Shape shape = a.shape();
    if (shape.empty()) {  // a 0-d tensor has axes 0 and -1, as in PyTorch
        for (int d : {dim0, dim1})
            if (d != 0 && d != -1) detail::normalize_axis("transpose", d, shape);  // throws
        return permute(a, {});
    }
    std::vector<int> dims(shape.size());
    for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = int(i);
    std::swap(dims[detail::normalize_axis("transpose", dim0, shape)], dims[detail::normalize_axis("transpose", dim1, shape)]);
    return permute(a, dims);
}

/// `a` broadcast to `sizes`, as torch.Tensor.expand: -1 keeps a's extent,
/// extra leading sizes add axes (they cannot be -1), and only axes of extent
/// 1 change (to any size, 0 included). broadcast_to(a, the resolved shape);
/// anything else throws tapegrad::Error naming expand, the size and the shape.
template <class T> Tensor<T> expand(const Tensor<T>& a, const std::vector<std::int64_t>& sizes) {
    const Shape from = a.shape();
    if (sizes.size() < from.size())
        throw Error("expand: " + std::to_string(sizes.size()) + " sizes given for shape " + shape_str(from) +
                    ", which has " + std::to_string(from.size()) + " axes");
    const std::size_t lead = sizes.size() - from.size();
    Shape shape(sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::size_t old = i < lead ? 1 : from[i - lead];
        const bool keep = sizes[i] == -1 && i >= lead;
        if (!keep && (sizes[i] < 0 || (old != 1 && std::uint64_t(sizes[i]) != old)))
            throw Error("expand: size " + std::to_string(sizes[i]) + " at position " + std::to_string(i) +
                        " does not fit shape " + shape_str(from) +
                        (i < lead ? " (a new leading axis needs a size >= 0)" : " (only an extent of 1 changes)"));
        shape[i] = keep ? old : std::size_t(sizes[i]);
    }
    return broadcast_to(a, shape);
}

/// `a` cut along `axis` into consecutive pieces of `sizes[i]` slices, as
/// torch.split with a list: narrow() each. The sizes must add up to the
/// extent of the axis (a 0 gives an empty piece), else tapegrad::Error.
template <class T> TensorList<T> split(const Tensor<T>& a, const std::vector<std::size_t>& sizes, int axis = 0) {
    const Shape shape = a.shape();
    const std::size_t extent = shape[detail::normalize_axis("split", axis, shape)];
    std::size_t total = 0;
    for (std::size_t s : sizes) total += std::min(s, extent + 1);  // saturates: no wrap-around on huge sizes
    if (total != extent)
        throw Error("split: sizes " + shape_str(sizes) + " do not add up to the extent " + std::to_string(extent) +
                    " of axis " + std::to_string(axis) + " of shape " + shape_str(shape));
    TensorList<T> parts;
    std::int64_t start = 0;
    for (std::size_t s : sizes) {
        parts.push_back(narrow(a, axis, start, std::int64_t(s)));
        start += std::int64_t(s);
    }
    return parts;
}

/// `a` cut along `axis` into pieces of `split_size` slices, the last one
/// smaller if the extent does not divide, as torch.split with an int. An
/// empty axis gives one empty piece; split_size 0 on a non-empty axis throws.
template <class T> TensorList<T> split(const Tensor<T>& a, std::size_t split_size, int axis = 0) {
    const Shape shape = a.shape();
    const std::size_t extent = shape[detail::normalize_axis("split", axis, shape)];
    if (split_size == 0 && extent != 0)
        throw Error("split: split_size 0 cannot cut axis " + std::to_string(axis) + " of shape " + shape_str(shape));
    std::vector<std::size_t> sizes;
    for (std::size_t start = 0;; start += split_size) {
        sizes.push_back(std::min(split_size, extent - start));
        if (extent - start <= split_size) break;
    }
    return split(a, sizes, axis);
}

/// `a` cut along `axis` into at most `chunks` pieces of ceil(extent / chunks)
/// slices (the last one smaller), as torch.chunk, which may give fewer
/// pieces (6 in 4 chunks: 3 of 2); an empty axis gives `chunks` empty
/// pieces. chunks = 0 throws tapegrad::Error.
template <class T> TensorList<T> chunk(const Tensor<T>& a, std::size_t chunks, int axis = 0) {
    if (chunks == 0) throw Error("chunk: chunks must be > 0, got 0");
    const Shape shape = a.shape();
    const std::size_t extent = shape[detail::normalize_axis("chunk", axis, shape)];
    if (extent == 0) return split(a, std::vector<std::size_t>(chunks, 0), axis);
    return split(a, extent / chunks + (extent % chunks != 0), axis);
}

// ---- factories: tensors without history, shaped by their arguments ------------
/// A tensor of indices.shape() + (num_classes,) holding 1 at each index's
/// class and 0 elsewhere, as torch.nn.functional.one_hot; num_classes -1
/// takes the largest index + 1. An index outside [0, num_classes),
/// num_classes < -1 and -1 with no indices throw tapegrad::Error. It takes no
/// gradient (indices are not differentiable), so it is not an op.
template <class T> Tensor<T> one_hot(const Indices& indices, std::int64_t num_classes = -1) {
    const Shape index_shape(indices.shape().begin(), indices.shape().end());
    if (num_classes < -1)
        throw Error("one_hot: num_classes " + std::to_string(num_classes) + " is neither -1 (inferred) nor >= 0");
    if (num_classes == -1 && indices.size() == 0)
        throw Error("one_hot: cannot infer the number of classes from indices of shape " + shape_str(index_shape));
    std::int64_t largest = num_classes - 1;
    if (num_classes == -1)
        for (std::int64_t v : indices) largest = std::max(largest, v);
    std::size_t flat = 0;
    for (std::int64_t v : indices) {
        if (v < 0 || v > largest)
            throw Error("one_hot: index " + std::to_string(v) + " at flat position " + std::to_string(flat) +
                        " of indices of shape " + shape_str(index_shape) + " is not in [0, " +
                        std::to_string(largest + 1) + ")");
        ++flat;
    }
    const std::size_t classes = std::size_t(largest) + 1;  // largest >= -1: no overflow
    Shape shape = index_shape;
    shape.push_back(classes);
    checked_element_count("one_hot", shape, sizeof(T));
    Tensor<T> out = Tensor<T>::zeros(shape);
    T* values = out.data_mut().data();
    std::size_t i = 0;
    for (std::int64_t v : indices) values[i++ * classes + std::size_t(v)] = T(1);
    return out;
}

/// Tensor<T>::zeros(a.shape(), requires_grad), as torch.zeros_like.
template <class T> Tensor<T> zeros_like(const Tensor<T>& a, bool requires_grad = false) {
    return Tensor<T>::zeros(a.shape(), requires_grad);
}
/// Tensor<T>::ones(a.shape(), requires_grad), as torch.ones_like.
template <class T> Tensor<T> ones_like(const Tensor<T>& a, bool requires_grad = false) {
    return Tensor<T>::ones(a.shape(), requires_grad);
}
/// Tensor<T>::full(a.shape(), value, requires_grad), as torch.full_like.
template <class T> Tensor<T> full_like(const Tensor<T>& a, Scalar<T> value, bool requires_grad = false) {
    return Tensor<T>::full(a.shape(), value, requires_grad);
}
/// Uniform values in [0, 1) of a's shape, seeded as Tensor<T>::uniform
/// (torch.rand_like, with the seed as an argument).
template <class T> Tensor<T> rand_like(const Tensor<T>& a, std::uint64_t seed, bool requires_grad = false) {
    return Tensor<T>::uniform(a.shape(), T(0), T(1), seed, requires_grad);
}
/// Standard normal values of a's shape, seeded as Tensor<T>::normal
/// (torch.randn_like, with the seed as an argument).
template <class T> Tensor<T> randn_like(const Tensor<T>& a, std::uint64_t seed, bool requires_grad = false) {
    return Tensor<T>::normal(a.shape(), T(0), T(1), seed, requires_grad);
}

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
