// gather scatter_add: one element per position of an index array, read from
// or added to its place along one axis. scatter_add adds up what gather
// reads, so each is the other's gradient and both differentiate again.
#include <string>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

namespace {
// A 0-d tensor (or index) is one element along axis 0, as in PyTorch.
Shape at_least_1d(Shape shape) {
    if (shape.empty()) shape.push_back(1);
    return shape;
}

Shape shape_of(const Indices& index) { return Shape(index.shape().begin(), index.shape().end()); }

// Checks `index` against `a`'s shape (and src's, for scatter_add) and
// returns the axis, in [0, rank).
std::size_t check_index(const char* op, int axis, const Shape& a, const Indices& index, const Shape* src = nullptr) {
    const std::size_t ax = a.empty() && (axis == 0 || axis == -1) ? 0 : detail::normalize_axis(op, axis, a);
    const Shape ia = at_least_1d(a), ii = at_least_1d(shape_of(index));
    std::string fits = index.dimension() == a.size() ? "" : "has another rank than";
    for (std::size_t d = 0; fits.empty() && d < ii.size(); ++d)
        if (d != ax && ii[d] > ia[d]) fits = "is larger outside axis " + std::to_string(axis) + " than";
    if (src && fits.empty()) {
        const Shape is = at_least_1d(*src);
        for (std::size_t d = 0; fits.empty() && d < ii.size(); ++d)
            if (src->size() != a.size() || ii[d] > is[d]) fits = "does not fit src of shape " + shape_str(*src) + " and";
    }
    if (!fits.empty())
        throw Error(std::string(op) + ": index of shape " + shape_str(shape_of(index)) + " " + fits + " the input of shape " +
                    shape_str(a));
    std::size_t flat = 0;
    for (std::int64_t v : index) {
        if (v < 0 || std::uint64_t(v) >= ia[ax])
            throw Error(std::string(op) + ": index " + std::to_string(v) + " at flat position " + std::to_string(flat) +
                        " is out of range for axis " + std::to_string(axis) + " of shape " + shape_str(a));
        ++flat;
    }
    return ax;
}

Shape row_major_strides(const Shape& shape) {
    Shape strides(shape.size());
    std::size_t step = 1;
    for (std::size_t d = shape.size(); d-- > 0;) {
        strides[d] = step;
        step *= shape[d];
    }
    return strides;
}

// Calls f(at, other) for each position of `index`, in row-major order: `at`
// is the flat offset in an array of shape `a` of the element the position
// names (its own coordinates, the index's value along `axis`), `other` the
// position's flat offset in an array of shape `other` (src's, or index's).
template <class F>
void each_position(const Shape& a, std::size_t axis, const Indices& index, const Shape& other, F&& f) {
    const Shape extent = at_least_1d(shape_of(index)), sa = row_major_strides(at_least_1d(a)),
                so = row_major_strides(at_least_1d(other));
    Shape coord(extent.size(), 0);
    std::size_t base = 0, at_other = 0;  // the offsets of coord, without the axis's term in `a`
    for (std::int64_t v : index) {
        f(base + std::size_t(v) * sa[axis], at_other);
        for (std::size_t d = extent.size(); d-- > 0;) {  // the next coordinate, row-major
            const std::size_t step = d == axis ? 0 : sa[d];
            ++coord[d];
            base += step;
            at_other += so[d];
            if (coord[d] < extent[d]) break;
            base -= step * coord[d];
            at_other -= so[d] * coord[d];
            coord[d] = 0;
        }
    }
}

// `t` with zeros after its end along each axis, up to `shape`.
template <class T>
Tensor<T> pad_with_zeros(Tensor<T> t, const Shape& shape) {
    for (std::size_t d = 0; d < shape.size(); ++d) {
        Shape rest = t.shape();
        if (rest[d] == shape[d]) continue;
        rest[d] = shape[d] - rest[d];
        t = concat({t, Tensor<T>::zeros(rest)}, int(d));
    }
    return t;
}
}  // namespace

template <class T>
Tensor<T> gather(const Tensor<T>& a, int axis, const Indices& index) {
    const Shape shape = a.shape();
    const std::size_t ax = check_index("gather", axis, shape, index);
    Array<T> out = Array<T>::from_shape(index.shape());
    const T* from = a.data().data();
    T* to = out.data();
    each_position(shape, ax, index, shape_of(index), [&](std::size_t at, std::size_t i) { to[i] = from[at]; });
    return record<T>("gather", std::move(out), {a}, [axis, index](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{scatter_add(Tensor<T>::zeros(in[0].shape()), axis, index, g)};
    });
}

template <class T>
Tensor<T> scatter_add(const Tensor<T>& a, int axis, const Indices& index, const Tensor<T>& src) {
    const Shape shape = a.shape(), src_shape = src.shape();
    const std::size_t ax = check_index("scatter_add", axis, shape, index, &src_shape);
    Array<T> out = a.data();
    const T* from = src.data().data();
    T* to = out.data();
    each_position(shape, ax, index, src_shape, [&](std::size_t at, std::size_t i) { to[at] += from[i]; });
    return record<T>("scatter_add", std::move(out), {a, src},
                     [axis, index](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{
                             in[0].requires_grad() ? g : Tensor<T>(),
                             in[1].requires_grad() ? pad_with_zeros(gather(g, axis, index), in[1].shape()) : Tensor<T>()};
                     });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_gather 1
#include <tapegrad/autograd/ops/instantiate.hpp>
