/// \file
/// Tensor<T>: a cheap-to-copy handle (like torch::Tensor) to an n-dimensional
/// xtensor array that may record the operations applied to it on a tape.
///
/// The graph is made of TensorImpl nodes: a tensor produced by an operation owns
/// a GradFn holding the operation's inputs and the function that maps the
/// gradient of the output to the gradients of the inputs (see tape.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/allocator.hpp>
#include <tapegrad/autograd/error.hpp>
#include <tapegrad/autograd/labels.hpp>

/// tapegrad: reverse-mode automatic differentiation on xtensor. The tensor,
/// the tape and the ops (autograd/) live here directly; io, nn, optim and
/// train have namespaces of their own.
namespace tapegrad {

template <class T>
class Tensor;

template <class T>
struct GradFn;

/// The node a Tensor handle points to: the values, the gradient and the
/// history. Shared by every copy of the handle; reach it through Tensor.
///
/// The values live in an Array<T> (allocator.hpp), an xt::xarray of any rank
/// rather than a fixed-rank xt::xtensor<T, N>: one tensor type serves every op, broadcasting and keepdims
/// reductions. Measured with bench/xarray_vs_xtensor (float, -O3, AVX-512):
/// sigmoid of 200x100 7.7 us on both; bias add (200,100)+(100,) 3.5 vs 3.3 us;
/// 200x100 product 2.6 vs 2.2 us; column sums 1.9 vs 1.8 us; a 1x1 product 79 vs
/// 52 ns, small next to the ~500 ns the tape spends per recorded op. The GEMMs,
/// most of a training step, see raw pointers either way.
template <class T>
struct TensorImpl {
    /// The values.
    Array<T> data;
    /// Whether ops record this tensor's history (see Tensor::requires_grad()).
    bool requires_grad = false;
    std::shared_ptr<TensorImpl<T>> grad;     ///< accumulated gradient (leaves)
    std::shared_ptr<GradFn<T>> grad_fn;      ///< how this tensor was made (non-leaves)
    std::uint64_t visit_epoch = 0;           ///< scratch of the backward engine: which walk saw it
    std::size_t backward_slot = 0;           ///< scratch of the backward engine: where

    /// A node holding `d`, recording history if `rg`.
    explicit TensorImpl(Array<T> d, bool rg = false) : data(std::move(d)), requires_grad(rg) {}
    /// Tag for the constructor below.
    struct Uninitialized {};
    /// A node whose values, of `shape`, are allocated but not written: an op
    /// writes them next. Built in place, as moving an xarray into a node costs
    /// more than a tiny op itself (its shape, strides and backstrides are
    /// small vectors swapped element by element).
    TensorImpl(Uninitialized, const typename Array<T>::shape_type& shape) : data(shape) {}
    TensorImpl(const TensorImpl&) = delete;
    TensorImpl& operator=(const TensorImpl&) = delete;
    // Releases long graphs without recursing once per node (a 100,000-op chain
    // would otherwise overflow the stack in nested shared_ptr destructors).
    ~TensorImpl();
};

/// A cheap-to-copy handle (like torch::Tensor) to an n-dimensional array of T
/// (float or double) that may record the ops applied to it on the tape.
/// Copies share the values, gradient and history; detach() copies the values.
/// Using the values or history of an undefined (default-constructed) tensor
/// throws Error; defined() tells. Factories throw Error on a shape too large
/// to allocate.
/// Not thread-safe: a tensor and its graph belong to one thread at a time.
template <class T>
class Tensor {
public:
    /// The element type, float or double.
    using value_type = T;
    /// The array type holding the values (allocator.hpp).
    using Array = tapegrad::Array<T>;

    /// An undefined tensor: defined() is false.
    Tensor() = default;  // undefined: defined() is false
    /// A tensor owning `data`; a leaf that records the ops applied to it if `requires_grad`.
    explicit Tensor(Array data, bool requires_grad = false);
    /// A handle to an existing node (shares it).
    explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

    // ---- factories -------------------------------------------------------
    /// A tensor of `shape` filled with 0.
    static Tensor zeros(const Shape& shape, bool requires_grad = false);
    /// A tensor of `shape` filled with 1.
    static Tensor ones(const Shape& shape, bool requires_grad = false);
    /// A tensor of `shape` filled with `value`.
    static Tensor full(const Shape& shape, T value, bool requires_grad = false);
    /// A 0-dimensional tensor (shape {}) holding `value`.
    static Tensor scalar(T value, bool requires_grad = false);
    /// Row-major values; throws Error if values.size() is not the product of shape.
    static Tensor from_data(const std::vector<T>& values, const Shape& shape, bool requires_grad = false);
    /// Nested braces: Tensor<double>::of({{1, 2}, {3, 4}}); 1-D here, 2-D and 3-D below.
    static Tensor of(xt::nested_initializer_list_t<T, 1> values, bool requires_grad = false);
    /// 2-D values in nested braces, one inner list per row; rows of unequal length throw Error.
    static Tensor of(xt::nested_initializer_list_t<T, 2> values, bool requires_grad = false);
    /// 3-D values in nested braces.
    static Tensor of(xt::nested_initializer_list_t<T, 3> values, bool requires_grad = false);
    /// Values drawn uniformly from [low, high) by a generator seeded with
    /// `seed`: the same seed gives the same values. Throws Error unless both
    /// are finite and low < high.
    static Tensor uniform(const Shape& shape, T low, T high, std::uint64_t seed, bool requires_grad = false);
    /// Values drawn from a normal distribution (mean, stddev), seeded with
    /// `seed` as uniform(). Throws Error unless mean is finite and stddev
    /// finite and > 0.
    static Tensor normal(const Shape& shape, T mean, T stddev, std::uint64_t seed, bool requires_grad = false);

    // ---- inspection ------------------------------------------------------
    /// False for a default-constructed tensor (and an unset gradient).
    bool defined() const { return impl_ != nullptr; }
    /// The extent of each axis.
    Shape shape() const;
    /// The number of axes (0 for a scalar).
    std::size_t dim() const;
    /// The number of elements.
    std::size_t size() const;
    /// The values (read-only).
    const Array& data() const { return checked().data; }
    /// Mutable access to the values, e.g. for optimizer updates. Writing to a
    /// tensor that an operation saved for backward changes its gradient, as in
    /// PyTorch's in-place ops; do it under no_grad on leaves only.
    Array& data_mut() { return checked().data; }
    T item() const;  ///< the single value of a one-element tensor; throws Error otherwise
    /// The element at `index` (one index per axis); throws Error if the index
    /// has the wrong rank or is out of range.
    T at(std::initializer_list<std::size_t> index) const;
    /// Writable element at `index`, checked as the const at(); see data_mut() on writing.
    T& at(std::initializer_list<std::size_t> index);

    // ---- autograd --------------------------------------------------------
    /// Whether ops applied to this tensor record their history, so that
    /// backward() reaches it (false for an undefined tensor).
    bool requires_grad() const { return impl_ && impl_->requires_grad; }
    /// Turns recording on or off, like torch's requires_grad_(); returns this
    /// tensor, so it chains. Turning it off on a tensor an op made throws
    /// Error (use detach()).
    Tensor& set_requires_grad(bool value = true);
    /// True unless an op that recorded made this tensor.
    bool is_leaf() const;
    Tensor grad() const;  ///< undefined until a backward reaches this tensor
    /// Replaces the gradient (an undefined `g` drops it). Throws Error if `g`
    /// is defined with another shape.
    void set_grad(const Tensor& g);
    void zero_grad();     ///< drops the gradient, like PyTorch's set_to_none
    Tensor detach() const;  ///< a copy of the values without history (not shared, unlike torch)
    const char* op_name() const;  ///< "leaf" or the operation that made it

    /// Reverse-mode pass from this tensor. A non-scalar tensor needs an explicit
    /// output gradient of its own shape. See tape.hpp for the options.
    /// retain_graph keeps the graph for another backward; create_graph records
    /// the backward pass so that gradients can be differentiated again.
    /// Gradients accumulate into the leaves' grad(). Throws Error if this
    /// tensor does not require a gradient, if its graph was freed by an
    /// earlier backward without retain_graph, or naming the op whose backward
    /// failed.
    void backward(bool retain_graph = false, bool create_graph = false) const;
    /// The same with `grad_output`, the gradient of the output (its shape);
    /// throws Error on another shape.
    void backward(const Tensor& grad_output, bool retain_graph = false, bool create_graph = false) const;

    // ---- method forms of the ops ------------------------------------------
    // Where PyTorch has a method, x.op(args) is op(x, args) of ops.hpp: each
    // is one line, defined in tensor.cpp (which sees ops.hpp) and built into
    // the library for float and double with the class, so that including
    // this header alone links. Adding one: its declaration here, with a
    // `///` line, and its one-line definition in tensor.cpp's section of
    // method forms; test_tensor.cpp checks that each gives its op's values.
    /// sum(*this): of all elements, shape ().
    Tensor sum() const;
    /// sum(*this, axis, keepdims).
    Tensor sum(int axis, bool keepdims = false) const;
    /// mean(*this): of all elements, shape ().
    Tensor mean() const;
    /// mean(*this, axis, keepdims).
    Tensor mean(int axis, bool keepdims = false) const;
    /// max(*this, axis, keepdims): the maxima alone (max_with_indices gives their indices too).
    Tensor max(int axis, bool keepdims = false) const;
    /// min(*this, axis, keepdims): the minima alone (min_with_indices gives their indices too).
    Tensor min(int axis, bool keepdims = false) const;
    /// logsumexp(*this, axis, keepdims).
    Tensor logsumexp(int axis, bool keepdims = false) const;
    /// argmax(*this): the flat index of the first maximum.
    Indices argmax() const;
    /// argmax(*this, axis, keepdims).
    Indices argmax(int axis, bool keepdims = false) const;
    /// argmin(*this): the flat index of the first minimum.
    Indices argmin() const;
    /// argmin(*this, axis, keepdims).
    Indices argmin(int axis, bool keepdims = false) const;
    Tensor neg() const;      ///< neg(*this)
    Tensor exp() const;      ///< exp(*this)
    Tensor log() const;      ///< log(*this)
    Tensor log1p() const;    ///< log1p(*this)
    Tensor sqrt() const;     ///< sqrt(*this)
    Tensor abs() const;      ///< abs(*this)
    Tensor erf() const;      ///< erf(*this)
    Tensor pow(T exponent) const;  ///< pow(*this, exponent)
    Tensor relu() const;     ///< relu(*this)
    Tensor sigmoid() const;  ///< sigmoid(*this)
    Tensor tanh() const;     ///< tanh(*this)
    /// clamp(*this, min, max).
    Tensor clamp(std::optional<T> min, std::optional<T> max = std::nullopt) const;
    Tensor softmax(int axis) const;      ///< softmax(*this, axis)
    Tensor log_softmax(int axis) const;  ///< log_softmax(*this, axis)
    Tensor reshape(const Shape& shape) const;  ///< reshape(*this, shape)
    Tensor broadcast_to(const Shape& shape) const;  ///< broadcast_to(*this, shape)
    Tensor t() const;  ///< transpose(*this): 2-D only, as torch's t() on matrices
    Tensor matmul(const Tensor& other) const;  ///< matmul(*this, other), torch.matmul's rules
    Tensor eq(const Tensor& other) const;  ///< eq(*this, other): a mask
    Tensor ne(const Tensor& other) const;  ///< ne(*this, other): a mask
    Tensor lt(const Tensor& other) const;  ///< lt(*this, other): a mask
    Tensor le(const Tensor& other) const;  ///< le(*this, other): a mask
    Tensor gt(const Tensor& other) const;  ///< gt(*this, other): a mask
    Tensor ge(const Tensor& other) const;  ///< ge(*this, other): a mask
    Tensor eq(T other) const;  ///< eq(*this, other): a mask
    Tensor ne(T other) const;  ///< ne(*this, other): a mask
    Tensor lt(T other) const;  ///< lt(*this, other): a mask
    Tensor le(T other) const;  ///< le(*this, other): a mask
    Tensor gt(T other) const;  ///< gt(*this, other): a mask
    Tensor ge(T other) const;  ///< ge(*this, other): a mask
    Tensor logical_and(const Tensor& other) const;  ///< logical_and(*this, other)
    Tensor logical_or(const Tensor& other) const;   ///< logical_or(*this, other)
    Tensor logical_xor(const Tensor& other) const;  ///< logical_xor(*this, other)
    Tensor logical_not() const;  ///< logical_not(*this)
    Tensor isnan() const;     ///< isnan(*this)
    Tensor isinf() const;     ///< isinf(*this)
    Tensor isfinite() const;  ///< isfinite(*this)
    Tensor permute(const std::vector<int>& dims) const;  ///< permute(*this, dims)
    Tensor transpose(int dim0, int dim1) const;  ///< transpose(*this, dim0, dim1)
    Tensor expand(const std::vector<std::int64_t>& sizes) const;  ///< expand(*this, sizes)
    Tensor repeat(const std::vector<std::size_t>& repeats) const;  ///< repeat(*this, repeats)
    Tensor masked_fill(const Tensor& mask, T value) const;  ///< masked_fill(*this, mask, value)
    Tensor tril(std::int64_t diagonal = 0) const;  ///< tril(*this, diagonal)
    Tensor triu(std::int64_t diagonal = 0) const;  ///< triu(*this, diagonal)
    Tensor gather(int axis, const Indices& index) const;  ///< gather(*this, axis, index)
    /// scatter_add(*this, axis, index, source).
    Tensor scatter_add(int axis, const Indices& index, const Tensor& source) const;

    /// The shared node (null when undefined), for code that walks the graph.
    const std::shared_ptr<TensorImpl<T>>& impl() const { return impl_; }
    /// Whether both handles point to the same node (identity, not equal values).
    bool same_as(const Tensor& other) const { return impl_ == other.impl_; }

private:
    // Inline: data() and requires_grad() are called several times per op, and
    // a call apiece was a visible part of a tiny op's cost.
    const TensorImpl<T>& checked() const {
        if (!impl_) throw_undefined();
        return *impl_;
    }
    TensorImpl<T>& checked() {
        if (!impl_) throw_undefined();
        return *impl_;
    }
    [[noreturn]] static void throw_undefined();
    std::shared_ptr<TensorImpl<T>> impl_;
};

namespace detail {
/// A new tensor of `shape` (no history) whose values an op writes next; they
/// are left unwritten.
template <class T>
Tensor<T> uninitialized(const typename Array<T>::shape_type& shape) {
    return Tensor<T>(std::allocate_shared<TensorImpl<T>>(memory::BlockAllocator<TensorImpl<T>>(),
                                                         typename TensorImpl<T>::Uninitialized{}, shape));
}
}  // namespace detail

/// Prints the shape and values (for debugging; the format may change).
template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t);

extern template class Tensor<float>;
extern template class Tensor<double>;

}  // namespace tapegrad
