// Tensor<T>: a cheap-to-copy handle (like torch::Tensor) to an n-dimensional
// xtensor array that may record the operations applied to it on a tape.
//
// The graph is made of TensorImpl nodes: a tensor produced by an operation owns
// a GradFn holding the operation's inputs and the function that maps the
// gradient of the output to the gradients of the inputs (see tape.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/autograd/allocator.hpp>

namespace tapegrad {

using Shape = std::vector<std::size_t>;

// Every error tapegrad raises on bad input: shape mismatches, misuse of the
// tape, corrupt files. Catch this to handle any of them.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string shape_str(const Shape& shape);

// The number of elements of `shape`. Throws an Error naming `op` and the shape
// when that many elements of `element_bytes` bytes each would overflow
// size_t: a product that wraps around (3 * 0x5555555555555556 is 2 in 64 bits)
// would let a huge shape pass for a small one, and every later access would
// run off the end of its buffer.
std::size_t checked_element_count(const char* op, const Shape& shape, std::size_t element_bytes);

template <class T>
class Tensor;

template <class T>
struct GradFn;

// The values live in an Array<T> (allocator.hpp), an xt::xarray of any rank
// rather than a fixed-rank xt::xtensor<T, N>: one tensor type serves every op, broadcasting and keepdims
// reductions. Measured with bench/xarray_vs_xtensor (float, -O3, AVX-512):
// sigmoid of 200x100 7.7 us on both; bias add (200,100)+(100,) 3.5 vs 3.3 us;
// 200x100 product 2.6 vs 2.2 us; column sums 1.9 vs 1.8 us; a 1x1 product 79 vs
// 52 ns, small next to the ~500 ns the tape spends per recorded op. The GEMMs,
// most of a training step, see raw pointers either way.
template <class T>
struct TensorImpl {
    Array<T> data;
    bool requires_grad = false;
    std::shared_ptr<TensorImpl<T>> grad;     // accumulated gradient (leaves)
    std::shared_ptr<GradFn<T>> grad_fn;      // how this tensor was made (non-leaves)
    std::uint64_t visit_epoch = 0;           // scratch of the backward engine:
    std::size_t backward_slot = 0;           //   which walk saw it, and where

    explicit TensorImpl(Array<T> d, bool rg = false) : data(std::move(d)), requires_grad(rg) {}
    TensorImpl(const TensorImpl&) = delete;
    TensorImpl& operator=(const TensorImpl&) = delete;
    // Releases long graphs without recursing once per node (a 100,000-op chain
    // would otherwise overflow the stack in nested shared_ptr destructors).
    ~TensorImpl();
};

template <class T>
class Tensor {
public:
    using value_type = T;
    using Array = tapegrad::Array<T>;

    Tensor() = default;  // undefined: defined() is false
    explicit Tensor(Array data, bool requires_grad = false);
    explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

    // ---- factories -------------------------------------------------------
    static Tensor zeros(const Shape& shape, bool requires_grad = false);
    static Tensor ones(const Shape& shape, bool requires_grad = false);
    static Tensor full(const Shape& shape, T value, bool requires_grad = false);
    static Tensor scalar(T value, bool requires_grad = false);
    // Row-major values; throws if values.size() is not the product of shape.
    static Tensor from_data(const std::vector<T>& values, const Shape& shape, bool requires_grad = false);
    // Nested braces: Tensor<double>::of({{1, 2}, {3, 4}}).
    static Tensor of(xt::nested_initializer_list_t<T, 1> values, bool requires_grad = false);
    static Tensor of(xt::nested_initializer_list_t<T, 2> values, bool requires_grad = false);
    static Tensor of(xt::nested_initializer_list_t<T, 3> values, bool requires_grad = false);
    static Tensor uniform(const Shape& shape, T low, T high, std::uint64_t seed, bool requires_grad = false);
    static Tensor normal(const Shape& shape, T mean, T stddev, std::uint64_t seed, bool requires_grad = false);

    // ---- inspection ------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    Shape shape() const;
    std::size_t dim() const;
    std::size_t size() const;
    const Array& data() const;
    // Mutable access to the values, e.g. for optimizer updates. Writing to a
    // tensor that an operation saved for backward changes its gradient, as in
    // PyTorch's in-place ops; do it under no_grad on leaves only.
    Array& data_mut();
    T item() const;  // the single value of a one-element tensor
    T at(std::initializer_list<std::size_t> index) const;
    T& at(std::initializer_list<std::size_t> index);

    // ---- autograd --------------------------------------------------------
    bool requires_grad() const;
    Tensor& set_requires_grad(bool value = true);
    bool is_leaf() const;
    Tensor grad() const;  // undefined until a backward reaches this tensor
    void set_grad(const Tensor& g);
    void zero_grad();     // drops the gradient, like PyTorch's set_to_none
    Tensor detach() const;  // a copy of the values without history (not shared, unlike torch)
    const char* op_name() const;  // "leaf" or the operation that made it

    // Reverse-mode pass from this tensor. A non-scalar tensor needs an explicit
    // output gradient of its own shape. See tape.hpp for the options.
    void backward(bool retain_graph = false, bool create_graph = false) const;
    void backward(const Tensor& grad_output, bool retain_graph = false, bool create_graph = false) const;

    const std::shared_ptr<TensorImpl<T>>& impl() const { return impl_; }
    bool same_as(const Tensor& other) const { return impl_ == other.impl_; }

private:
    const TensorImpl<T>& checked() const;
    TensorImpl<T>& checked();
    std::shared_ptr<TensorImpl<T>> impl_;
};

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t);

extern template class Tensor<float>;
extern template class Tensor<double>;

}  // namespace tapegrad
