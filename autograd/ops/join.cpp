// concat stack narrow index_select index_add: slices copied along one axis.
// The gradient of a copy is the reverse copy: narrow undoes concat (and
// concat with zeros undoes narrow), index_add undoes index_select (and
// index_select undoes index_add), so every backward is recorded ops and
// differentiates again.
#include <algorithm>
#include <limits>
#include <string>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/axis.hpp>

namespace tapegrad {

namespace {
// A row-major shape seen around `axis` as (outer, extent, inner): element
// (o, i, k) sits at (o * extent + i) * inner + k.
struct AroundAxis {
    std::size_t outer = 1, extent = 0, inner = 1;
    AroundAxis(const Shape& shape, std::size_t axis) : extent(shape[axis]) {
        for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
        for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    }
};

Shape with_extent(Shape shape, std::size_t axis, std::size_t extent) {
    shape[axis] = extent;
    return shape;
}

void check_indices(const char* op, const Labels& indices, std::size_t axis, const Shape& shape) {
    for (std::size_t j = 0; j < indices.size(); ++j)
        if (indices[j] < 0 || std::uint64_t(indices[j]) >= shape[axis])
            throw Error(std::string(op) + ": index " + std::to_string(indices[j]) + " at position " +
                        std::to_string(j) + " is out of range for axis " + std::to_string(axis) + " of shape " +
                        shape_str(shape));
}
}  // namespace

template <class T>
Tensor<T> concat(const TensorList<T>& tensors, int axis) {
    if (tensors.empty()) throw Error("concat: no tensors to join");
    const Shape first = tensors[0].shape();
    const std::size_t ax = normalize_axis("concat", axis, first);
    Shape shape = with_extent(first, ax, 0);
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        const Shape s = tensors[k].shape();
        if (s.size() != first.size() || with_extent(s, ax, first[ax]) != first)
            throw Error("concat: tensor " + std::to_string(k) + " of shape " + shape_str(s) +
                        " does not fit tensor 0 of shape " + shape_str(first) + " outside axis " + std::to_string(axis));
        if (s[ax] > std::numeric_limits<std::size_t>::max() - shape[ax])
            throw Error("concat: the joined axis " + std::to_string(axis) + " is too large (tensor " +
                        std::to_string(k) + " of shape " + shape_str(s) + ")");
        shape[ax] += s[ax];
    }
    checked_element_count("concat", shape, sizeof(T));
    Array<T> out = Array<T>::from_shape(shape);
    const AroundAxis whole(shape, ax);
    std::size_t offset = 0;  // where the next tensor starts along the axis
    for (const Tensor<T>& t : tensors) {
        const std::size_t block = t.data().shape()[ax] * whole.inner;
        for (std::size_t o = 0; o < whole.outer; ++o)
            std::copy_n(t.data().data() + o * block, block, out.data() + (o * whole.extent + offset) * whole.inner);
        offset += t.data().shape()[ax];
    }
    return record<T>("concat", std::move(out), tensors, [ax](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        Gradients<T> grads(in.size());
        std::int64_t start = 0;
        for (std::size_t k = 0; k < in.size(); ++k) {
            const auto length = std::int64_t(in[k].data().shape()[ax]);
            if (in[k].requires_grad()) grads[k] = narrow(g, int(ax), start, length);
            start += length;
        }
        return grads;
    });
}

template <class T>
Tensor<T> stack(const TensorList<T>& tensors, int axis) {
    if (tensors.empty()) throw Error("stack: no tensors to stack");
    const Shape shape = tensors[0].shape();
    const int rank = int(shape.size()) + 1;  // the output's
    if (axis < -rank || axis >= rank)
        throw Error("stack: axis " + std::to_string(axis) + " is out of range for stacking tensors of shape " +
                    shape_str(shape));
    const std::size_t ax = std::size_t(axis < 0 ? axis + rank : axis);
    Shape unsqueezed = shape;
    unsqueezed.insert(unsqueezed.begin() + std::ptrdiff_t(ax), 1);
    TensorList<T> parts;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        if (tensors[k].shape() != shape)
            throw Error("stack: tensor " + std::to_string(k) + " of shape " + shape_str(tensors[k].shape()) +
                        " differs from tensor 0 of shape " + shape_str(shape));
        parts.push_back(reshape(tensors[k], unsqueezed));
    }
    return concat(parts, int(ax));
}

template <class T>
Tensor<T> narrow(const Tensor<T>& a, int axis, std::int64_t start, std::int64_t length) {
    const Shape shape = a.shape();
    const std::size_t ax = normalize_axis("narrow", axis, shape);
    const auto extent = std::int64_t(shape[ax]);
    const std::int64_t begin = start < 0 ? start + extent : start;
    if (begin < 0 || begin > extent || length < 0 || length > extent - begin)
        throw Error("narrow: start " + std::to_string(start) + " and length " + std::to_string(length) +
                    " do not fit axis " + std::to_string(axis) + " of shape " + shape_str(shape));
    Array<T> out = Array<T>::from_shape(with_extent(shape, ax, std::size_t(length)));
    const AroundAxis from(shape, ax);
    const std::size_t block = std::size_t(length) * from.inner;
    for (std::size_t o = 0; o < from.outer; ++o)
        std::copy_n(a.data().data() + (o * from.extent + std::size_t(begin)) * from.inner, block, out.data() + o * block);
    return record<T>("narrow", std::move(out), {a}, [ax, begin](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        // g in its place, zeros before and after it.
        const Shape shape = in[0].shape();
        const std::size_t before = std::size_t(begin), after = shape[ax] - before - g.data().shape()[ax];
        TensorList<T> parts;
        if (before) parts.push_back(Tensor<T>::zeros(with_extent(shape, ax, before)));
        parts.push_back(g);
        if (after) parts.push_back(Tensor<T>::zeros(with_extent(shape, ax, after)));
        return Gradients<T>{parts.size() == 1 ? g : concat(parts, int(ax))};
    });
}

template <class T>
Tensor<T> index_select(const Tensor<T>& a, int axis, const Labels& indices) {
    const Shape shape = a.shape();
    const std::size_t ax = normalize_axis("index_select", axis, shape);
    check_indices("index_select", indices, ax, shape);
    const Shape out_shape = with_extent(shape, ax, indices.size());
    checked_element_count("index_select", out_shape, sizeof(T));
    Array<T> out = Array<T>::from_shape(out_shape);
    const AroundAxis from(shape, ax);
    const std::size_t n = indices.size();
    for (std::size_t o = 0; o < from.outer; ++o)
        for (std::size_t j = 0; j < n; ++j)
            std::copy_n(a.data().data() + (o * from.extent + std::size_t(indices[j])) * from.inner, from.inner,
                        out.data() + (o * n + j) * from.inner);
    return record<T>("index_select", std::move(out), {a}, [ax, indices](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{index_add(Tensor<T>::zeros(in[0].shape()), int(ax), indices, g)};
    });
}

template <class T>
Tensor<T> index_add(const Tensor<T>& a, int axis, const Labels& indices, const Tensor<T>& source) {
    const Shape shape = a.shape();
    const std::size_t ax = normalize_axis("index_add", axis, shape);
    if (source.shape() != with_extent(shape, ax, indices.size()))
        throw Error("index_add: source of shape " + shape_str(source.shape()) + " does not fit " +
                    std::to_string(indices.size()) + " indices along axis " + std::to_string(axis) + " of shape " +
                    shape_str(shape));
    check_indices("index_add", indices, ax, shape);
    Array<T> out = a.data();
    const AroundAxis into(shape, ax);
    const std::size_t n = indices.size();
    for (std::size_t o = 0; o < into.outer; ++o)
        for (std::size_t j = 0; j < n; ++j) {
            const T* src = source.data().data() + (o * n + j) * into.inner;
            T* dst = out.data() + (o * into.extent + std::size_t(indices[j])) * into.inner;
            for (std::size_t k = 0; k < into.inner; ++k) dst[k] += src[k];
        }
    return record<T>("index_add", std::move(out), {a, source},
                     [ax, indices](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{in[0].requires_grad() ? g : Tensor<T>(),
                                              in[1].requires_grad() ? index_select(g, int(ax), indices) : Tensor<T>()};
                     });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_join 1
#include <tapegrad/autograd/ops/instantiate.hpp>
