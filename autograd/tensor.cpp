#include <tapegrad/autograd/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <random>
#include <sstream>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xio.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

template <class T>
TensorImpl<T>::~TensorImpl() {
    // Take over the chain of GradFns that only this tensor keeps alive and free
    // it with an explicit stack instead of recursive destructors.
    if (!grad_fn || grad_fn.use_count() != 1) return;
    // The common case needs no stack: no input is left to this node alone
    // with a history of its own (in a backward pass, release_graph() has
    // already dropped the inputs).
    const auto owns_a_chain = [](const Tensor<T>& input) {
        const auto& impl = input.impl();
        return impl && impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1;
    };
    if (std::none_of(grad_fn->inputs.begin(), grad_fn->inputs.end(), owns_a_chain)) return;
    std::vector<std::shared_ptr<GradFn<T>>> pending;
    pending.push_back(std::move(grad_fn));
    while (!pending.empty()) {
        std::shared_ptr<GradFn<T>> fn = std::move(pending.back());
        pending.pop_back();
        if (fn.use_count() != 1) continue;  // still owned elsewhere
        for (Tensor<T>& input : fn->inputs)
            if (owns_a_chain(input)) pending.push_back(std::move(input.impl()->grad_fn));
        // fn dies here; the inputs it frees no longer own their GradFns.
    }
}

namespace {
// Values drawn in row-major order from `dist`, seeded with `seed`.
template <class T, class Distribution>
Array<T> sampled(const Shape& shape, std::uint64_t seed, Distribution dist) {
    std::mt19937_64 rng(seed);
    Array<T> a(shape);
    for (auto& v : a) v = dist(rng);
    return a;
}
}  // namespace

template <class T>
Tensor<T>::Tensor(Array data, bool requires_grad)
    : impl_(std::allocate_shared<TensorImpl<T>>(memory::BlockAllocator<TensorImpl<T>>(), std::move(data),
                                                requires_grad)) {}

template <class T>
Tensor<T> Tensor<T>::zeros(const Shape& shape, bool requires_grad) {
    checked_element_count("Tensor::zeros", shape, sizeof(T));
    return Tensor(Array(xt::zeros<T>(shape)), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::ones(const Shape& shape, bool requires_grad) {
    checked_element_count("Tensor::ones", shape, sizeof(T));
    return Tensor(Array(xt::ones<T>(shape)), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::full(const Shape& shape, T value, bool requires_grad) {
    checked_element_count("Tensor::full", shape, sizeof(T));
    Array a(shape);
    a.fill(value);
    return Tensor(std::move(a), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::scalar(T value, bool requires_grad) {
    Array a = Array::from_shape({});
    a() = value;
    return Tensor(std::move(a), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::from_data(const std::vector<T>& values, const Shape& shape, bool requires_grad) {
    const std::size_t n = checked_element_count("Tensor::from_data", shape, sizeof(T));
    if (n != values.size())
        throw Error("Tensor::from_data: " + std::to_string(values.size()) + " values do not fill shape " +
                    shape_str(shape) + " (" + std::to_string(n) + " elements)");
    Array a(shape);
    std::copy(values.begin(), values.end(), a.begin());
    return Tensor(std::move(a), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::of(xt::nested_initializer_list_t<T, 1> values, bool requires_grad) {
    return Tensor(Array(values), requires_grad);
}
template <class T>
Tensor<T> Tensor<T>::of(xt::nested_initializer_list_t<T, 2> values, bool requires_grad) {
    // xtensor silently pads ragged rows; refuse them instead.
    std::size_t cols = values.size() ? values.begin()->size() : 0;
    for (const auto& row : values)
        if (row.size() != cols) throw Error("Tensor::of: rows have different lengths");
    return Tensor(Array(values), requires_grad);
}
template <class T>
Tensor<T> Tensor<T>::of(xt::nested_initializer_list_t<T, 3> values, bool requires_grad) {
    Array a(values);
    std::size_t n = 0;
    for (const auto& m : values)
        for (const auto& row : m) n += row.size();
    if (n != a.size()) throw Error("Tensor::of: nested lists are ragged");
    return Tensor(std::move(a), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::uniform(const Shape& shape, T low, T high, std::uint64_t seed, bool requires_grad) {
    if (!(low < high) || !std::isfinite(low) || !std::isfinite(high))
        throw Error("Tensor::uniform: low must be below high, both finite; got " + std::to_string(low) + " and " +
                    std::to_string(high));
    checked_element_count("Tensor::uniform", shape, sizeof(T));
    return Tensor(sampled<T>(shape, seed, std::uniform_real_distribution<T>(low, high)), requires_grad);
}

template <class T>
Tensor<T> Tensor<T>::normal(const Shape& shape, T mean, T stddev, std::uint64_t seed, bool requires_grad) {
    if (!(stddev > 0) || !std::isfinite(stddev) || !std::isfinite(mean))
        throw Error("Tensor::normal: mean must be finite and stddev positive and finite; got " +
                    std::to_string(mean) + " and " + std::to_string(stddev));
    checked_element_count("Tensor::normal", shape, sizeof(T));
    return Tensor(sampled<T>(shape, seed, std::normal_distribution<T>(mean, stddev)), requires_grad);
}

template <class T>
void Tensor<T>::throw_undefined() {
    throw Error("use of an undefined tensor");
}

template <class T>
Shape Tensor<T>::shape() const {
    const auto& s = checked().data.shape();
    return Shape(s.begin(), s.end());
}
template <class T>
std::size_t Tensor<T>::dim() const { return checked().data.dimension(); }
template <class T>
std::size_t Tensor<T>::size() const { return checked().data.size(); }

template <class T>
T Tensor<T>::item() const {
    const auto& d = checked().data;
    if (d.size() != 1) throw Error("item(): tensor of shape " + shape_str(shape()) + " has " +
                                   std::to_string(d.size()) + " elements, not one");
    return *d.begin();
}

namespace {
template <class A>
std::size_t flat_index(const A& a, std::initializer_list<std::size_t> index) {
    if (index.size() != a.dimension())
        throw Error("at(): " + std::to_string(index.size()) + " indices for a tensor of " +
                    std::to_string(a.dimension()) + " dimensions");
    std::size_t flat = 0, k = 0;
    for (std::size_t i : index) {
        if (i >= a.shape()[k])
            throw Error("at(): index " + std::to_string(i) + " out of range for dimension " + std::to_string(k) +
                        " of size " + std::to_string(a.shape()[k]));
        flat += i * a.strides()[k++];
    }
    return flat;
}
}  // namespace

template <class T>
T Tensor<T>::at(std::initializer_list<std::size_t> index) const {
    const auto& d = checked().data;
    return d.data()[flat_index(d, index)];
}
template <class T>
T& Tensor<T>::at(std::initializer_list<std::size_t> index) {
    auto& d = checked().data;
    return d.data()[flat_index(d, index)];
}

template <class T>
Tensor<T>& Tensor<T>::set_requires_grad(bool value) {
    auto& impl = checked();
    if (impl.grad_fn && !value)
        throw Error("set_requires_grad(false) on a tensor made by '" + std::string(impl.grad_fn->name) +
                    "': use detach() instead");
    impl.requires_grad = value;
    return *this;
}

template <class T>
bool Tensor<T>::is_leaf() const { return !checked().grad_fn; }

template <class T>
Tensor<T> Tensor<T>::grad() const { return Tensor(checked().grad); }

template <class T>
void Tensor<T>::set_grad(const Tensor& g) {
    if (g.defined() && g.shape() != shape())
        throw Error("set_grad: gradient of shape " + shape_str(g.shape()) + " for a tensor of shape " +
                    shape_str(shape()));
    checked().grad = g.impl_;
}

template <class T>
void Tensor<T>::zero_grad() { checked().grad.reset(); }

template <class T>
Tensor<T> Tensor<T>::detach() const {
    // Unlike torch's detach() this copies the values: an xarray owns its
    // buffer, and a copy means writing to one never changes the other.
    return Tensor(checked().data, false);
}

template <class T>
const char* Tensor<T>::op_name() const { return checked().grad_fn ? impl_->grad_fn->name : "leaf"; }

template <class T>
void Tensor<T>::backward(bool retain_graph, bool create_graph) const {
    run_backward(*this, Tensor(), retain_graph, create_graph);
}

template <class T>
void Tensor<T>::backward(const Tensor& grad_output, bool retain_graph, bool create_graph) const {
    run_backward(*this, grad_output, retain_graph, create_graph);
}

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
    if (!t.defined()) return os << "tensor(undefined)";
    os << "tensor(" << t.data() << ", shape=" << shape_str(t.shape());
    if (!t.is_leaf())
        os << ", grad_fn=" << t.op_name();
    else if (t.requires_grad())
        os << ", requires_grad=true";
    return os << ')';
}

// ---- method forms of the ops (tensor.hpp): each calls its op, qualified, as
// a member of the same name hides the free function inside the class.
template <class T> Tensor<T> Tensor<T>::sum() const { return tapegrad::sum(*this); }
template <class T> Tensor<T> Tensor<T>::sum(int axis, bool keepdims) const { return tapegrad::sum(*this, axis, keepdims); }
template <class T> Tensor<T> Tensor<T>::mean() const { return tapegrad::mean(*this); }
template <class T> Tensor<T> Tensor<T>::mean(int axis, bool keepdims) const { return tapegrad::mean(*this, axis, keepdims); }
template <class T> Tensor<T> Tensor<T>::max(int axis, bool keepdims) const { return tapegrad::max(*this, axis, keepdims); }
template <class T> Tensor<T> Tensor<T>::min(int axis, bool keepdims) const { return tapegrad::min(*this, axis, keepdims); }
template <class T> Tensor<T> Tensor<T>::logsumexp(int axis, bool keepdims) const {
    return tapegrad::logsumexp(*this, axis, keepdims);
}
template <class T> Indices Tensor<T>::argmax() const { return tapegrad::argmax(*this); }
template <class T> Indices Tensor<T>::argmax(int axis, bool keepdims) const { return tapegrad::argmax(*this, axis, keepdims); }
template <class T> Indices Tensor<T>::argmin() const { return tapegrad::argmin(*this); }
template <class T> Indices Tensor<T>::argmin(int axis, bool keepdims) const { return tapegrad::argmin(*this, axis, keepdims); }
template <class T> Tensor<T> Tensor<T>::neg() const { return tapegrad::neg(*this); }
template <class T> Tensor<T> Tensor<T>::exp() const { return tapegrad::exp(*this); }
template <class T> Tensor<T> Tensor<T>::log() const { return tapegrad::log(*this); }
template <class T> Tensor<T> Tensor<T>::log1p() const { return tapegrad::log1p(*this); }
template <class T> Tensor<T> Tensor<T>::sqrt() const { return tapegrad::sqrt(*this); }
template <class T> Tensor<T> Tensor<T>::abs() const { return tapegrad::abs(*this); }
template <class T> Tensor<T> Tensor<T>::erf() const { return tapegrad::erf(*this); }
template <class T> Tensor<T> Tensor<T>::pow(T exponent) const { return tapegrad::pow(*this, exponent); }
template <class T> Tensor<T> Tensor<T>::relu() const { return tapegrad::relu(*this); }
template <class T> Tensor<T> Tensor<T>::sigmoid() const { return tapegrad::sigmoid(*this); }
template <class T> Tensor<T> Tensor<T>::tanh() const { return tapegrad::tanh(*this); }
template <class T> Tensor<T> Tensor<T>::clamp(std::optional<T> min, std::optional<T> max) const {
    return tapegrad::clamp(*this, min, max);
}
template <class T> Tensor<T> Tensor<T>::softmax(int axis) const { return tapegrad::softmax(*this, axis); }
template <class T> Tensor<T> Tensor<T>::log_softmax(int axis) const { return tapegrad::log_softmax(*this, axis); }
template <class T> Tensor<T> Tensor<T>::reshape(const Shape& shape) const { return tapegrad::reshape(*this, shape); }
template <class T> Tensor<T> Tensor<T>::broadcast_to(const Shape& shape) const {
    return tapegrad::broadcast_to(*this, shape);
}
template <class T> Tensor<T> Tensor<T>::t() const { return tapegrad::transpose(*this); }
template <class T> Tensor<T> Tensor<T>::matmul(const Tensor& other) const { return tapegrad::matmul(*this, other); }
template <class T> Tensor<T> Tensor<T>::eq(const Tensor& other) const { return tapegrad::eq(*this, other); }
template <class T> Tensor<T> Tensor<T>::ne(const Tensor& other) const { return tapegrad::ne(*this, other); }
template <class T> Tensor<T> Tensor<T>::lt(const Tensor& other) const { return tapegrad::lt(*this, other); }
template <class T> Tensor<T> Tensor<T>::le(const Tensor& other) const { return tapegrad::le(*this, other); }
template <class T> Tensor<T> Tensor<T>::gt(const Tensor& other) const { return tapegrad::gt(*this, other); }
template <class T> Tensor<T> Tensor<T>::ge(const Tensor& other) const { return tapegrad::ge(*this, other); }
template <class T> Tensor<T> Tensor<T>::eq(T other) const { return tapegrad::eq(*this, other); }
template <class T> Tensor<T> Tensor<T>::ne(T other) const { return tapegrad::ne(*this, other); }
template <class T> Tensor<T> Tensor<T>::lt(T other) const { return tapegrad::lt(*this, other); }
template <class T> Tensor<T> Tensor<T>::le(T other) const { return tapegrad::le(*this, other); }
template <class T> Tensor<T> Tensor<T>::gt(T other) const { return tapegrad::gt(*this, other); }
template <class T> Tensor<T> Tensor<T>::ge(T other) const { return tapegrad::ge(*this, other); }
template <class T> Tensor<T> Tensor<T>::logical_and(const Tensor& other) const { return tapegrad::logical_and(*this, other); }
template <class T> Tensor<T> Tensor<T>::logical_or(const Tensor& other) const { return tapegrad::logical_or(*this, other); }
template <class T> Tensor<T> Tensor<T>::logical_xor(const Tensor& other) const { return tapegrad::logical_xor(*this, other); }
template <class T> Tensor<T> Tensor<T>::logical_not() const { return tapegrad::logical_not(*this); }
template <class T> Tensor<T> Tensor<T>::isnan() const { return tapegrad::isnan(*this); }
template <class T> Tensor<T> Tensor<T>::isinf() const { return tapegrad::isinf(*this); }
template <class T> Tensor<T> Tensor<T>::permute(const std::vector<int>& dims) const { return tapegrad::permute(*this, dims); }
template <class T> Tensor<T> Tensor<T>::transpose(int dim0, int dim1) const { return tapegrad::transpose(*this, dim0, dim1); }
template <class T> Tensor<T> Tensor<T>::expand(const std::vector<std::int64_t>& sizes) const { return tapegrad::expand(*this, sizes); }
template <class T> Tensor<T> Tensor<T>::repeat(const std::vector<std::size_t>& repeats) const { return tapegrad::repeat(*this, repeats); }
template <class T> Tensor<T> Tensor<T>::masked_fill(const Tensor& mask, T value) const { return tapegrad::masked_fill(*this, mask, value); }
template <class T> Tensor<T> Tensor<T>::tril(std::int64_t diagonal) const { return tapegrad::tril(*this, diagonal); }
template <class T> Tensor<T> Tensor<T>::triu(std::int64_t diagonal) const { return tapegrad::triu(*this, diagonal); }
template <class T> Tensor<T> Tensor<T>::gather(int axis, const Indices& index) const { return tapegrad::gather(*this, axis, index); }
template <class T> Tensor<T> Tensor<T>::scatter_add(int axis, const Indices& index, const Tensor& source) const {
    return tapegrad::scatter_add(*this, axis, index, source);
}
template <class T> Tensor<T> Tensor<T>::isfinite() const { return tapegrad::isfinite(*this); }

template struct TensorImpl<float>;
template struct TensorImpl<double>;
template class Tensor<float>;
template class Tensor<double>;
template std::ostream& operator<<(std::ostream&, const Tensor<float>&);
template std::ostream& operator<<(std::ostream&, const Tensor<double>&);

}  // namespace tapegrad
