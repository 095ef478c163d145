// reshape transpose broadcast_to sum_to: ops that move values without
// arithmetic. broadcast_to and sum_to are each other's gradient.
#include <algorithm>
#include <numeric>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

namespace {
std::size_t element_count(const Shape& s) {
    return std::accumulate(s.begin(), s.end(), std::size_t(1), std::multiplies<>());
}
}  // namespace

template <class T>
Tensor<T> reshape(const Tensor<T>& a, const Shape& shape) {
    if (checked_element_count("reshape", shape, sizeof(T)) != a.size())
        throw Error("reshape: cannot reshape " + shape_str(a.shape()) + " (" + std::to_string(a.size()) +
                    " elements) to " + shape_str(shape));
    Array<T> out = a.data();
    out.reshape(shape);
    return record<T>("reshape", std::move(out), {a}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{reshape(g, in[0].shape())};
    });
}

template <class T>
Tensor<T> transpose(const Tensor<T>& a) {
    if (a.dim() != 2) throw Error("transpose: expects a 2-D tensor, got shape " + shape_str(a.shape()));
    return record<T>("transpose", Array<T>(xt::transpose(a.data())), {a},
                     [](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) { return Gradients<T>{transpose(g)}; });
}

template <class T>
Tensor<T> broadcast_to(const Tensor<T>& a, const Shape& shape) {
    if (a.shape() == shape) return a;
    checked_element_count("broadcast_to", shape, sizeof(T));
    if (broadcast_shapes("broadcast_to", a.shape(), shape) != shape)
        throw Error("broadcast_to: cannot broadcast " + shape_str(a.shape()) + " to " + shape_str(shape));
    return record<T>("broadcast_to", Array<T>(xt::broadcast(a.data(), shape)), {a},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{sum_to(g, in[0].shape())};
                     });
}

template <class T>
Tensor<T> sum_to(const Tensor<T>& a, const Shape& shape) {
    const auto& now = a.data().shape();
    if (std::equal(now.begin(), now.end(), shape.begin(), shape.end())) return a;  // the common case, no allocation
    const Shape from = a.shape();
    if (broadcast_shapes("sum_to", shape, from) != from)
        throw Error("sum_to: cannot sum " + shape_str(from) + " down to " + shape_str(shape));
    // Sum the leading dimensions that `shape` lacks, and keep (as size 1) those
    // where `shape` has 1 and `from` does not.
    const std::size_t lead = from.size() - shape.size();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < from.size(); ++i)
        if (i < lead || (shape[i - lead] == 1 && from[i] != 1)) axes.push_back(i);
    Array<T> out;
    if (a.size() == 0) {
        // Nothing to add up: zeros (xtensor's strided reducer reads out of
        // bounds on an empty array, as sum's note says).
        out = xt::zeros<T>(shape);
    } else if (axes.back() + 1 == axes.size()) {
        // The reduced axes lead (a bias gradient: (batch, n) -> (n,)): add up
        // the rows of the row-major array, a loop that vectorises, instead of
        // xt::sum's general strided reduction (~10x slower here).
        const std::size_t width = element_count(shape), rows = a.size() / std::max<std::size_t>(width, 1);
        out = xt::zeros<T>(shape);
        T* dst = out.data();
        const T* src = a.data().data();
        for (std::size_t r = 0; r < rows; ++r, src += width)
            for (std::size_t j = 0; j < width; ++j) dst[j] += src[j];
    } else {
        out = xt::sum(a.data(), axes, xt::evaluation_strategy::immediate);
        out.reshape(shape);
    }
    return record<T>("sum_to", std::move(out), {a}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{broadcast_to(g, in[0].shape())};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_shape 1
#include <tapegrad/autograd/ops/instantiate.hpp>
