// permute repeat: values moved to new places, into a new row-major array.
// permute's gradient is the inverse permute; repeat's sums the tiles with
// sum_to, whose own gradient is broadcast_to, so both differentiate again.
#include <algorithm>
#include <limits>
#include <string>

#include <xtensor/xbroadcast.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

namespace {
// `a` with axis i of the result taken from axis order[i], in a new row-major
// array. A loop of our own: assigning xt::transpose(a, order) walks xtensor's
// generic stepper per element, measured ~10x slower on a (32, 23, 4, 16)
// float attention tensor to (32, 4, 23, 16) (-O3, AVX-512). Each pass of the
// loop writes one run along the result's last axis: a plain copy when that
// axis is also a's last (the head size D in attention), a strided read else.
template <class T>
Array<T> permuted(const Array<T>& a, const std::vector<std::size_t>& order) {
    const std::size_t n = order.size();
    Shape from_stride(n), shape(n), stride(n);  // stride[i]: a's step along the result's axis i
    for (std::size_t d = n, step = 1; d-- > 0; step *= a.shape()[d]) from_stride[d] = step;
    for (std::size_t i = 0; i < n; ++i) {
        shape[i] = a.shape()[order[i]];
        stride[i] = from_stride[order[i]];
    }
    Array<T> out = Array<T>::from_shape(shape);
    if (out.size() == 0) return out;
    const std::size_t run = shape[n - 1], step = stride[n - 1];
    Shape coord(n, 0);
    const T* src = a.data();
    std::size_t at = 0;  // a's offset of the result's element at coord
    for (T* dst = out.data(); dst != out.data() + out.size(); dst += run) {
        if (step == 1)
            std::copy_n(src + at, run, dst);
        else
            for (std::size_t j = 0; j < run; ++j) dst[j] = src[at + j * step];
        for (std::size_t d = n - 1; d-- > 0;) {  // the next run, row-major
            at += stride[d];
            if (++coord[d] < shape[d]) break;
            at -= stride[d] * coord[d];
            coord[d] = 0;
        }
    }
    return out;
}
}  // namespace

template <class T>
Tensor<T> permute(const Tensor<T>& a, const std::vector<int>& dims) {
    const Shape shape = a.shape();
    const int n = int(shape.size());
    std::vector<std::size_t> order(dims.size());
    std::vector<bool> seen(shape.size(), false);
    bool valid = dims.size() == shape.size(), identity = true;
    for (std::size_t i = 0; valid && i < dims.size(); ++i) {
        valid = dims[i] >= -n && dims[i] < n && !seen[std::size_t(dims[i] < 0 ? dims[i] + n : dims[i])];
        if (!valid) break;
        order[i] = std::size_t(dims[i] < 0 ? dims[i] + n : dims[i]);
        seen[order[i]] = true;
        identity = identity && order[i] == i;
    }
    if (!valid) {
        std::string text;
        for (int d : dims) text += (text.empty() ? "" : ", ") + std::to_string(d);
        throw Error("permute: dims (" + text + ") are not a permutation of the axes of shape " + shape_str(shape));
    }
    // Even the identity order copies: the result is a tensor of its own, as
    // every op's (PyTorch's view has a node of its own too).
    return record<T>("permute", identity ? Array<T>(a.data()) : permuted(a.data(), order), {a},
                     [order](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         std::vector<int> inverse(order.size());
                         for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = int(i);
                         return Gradients<T>{permute(g, inverse)};
                     });
}

template <class T>
Tensor<T> repeat(const Tensor<T>& a, const std::vector<std::size_t>& repeats) {
    const Shape from = a.shape();
    if (repeats.size() < from.size())
        throw Error("repeat: " + std::to_string(repeats.size()) + " repeats given for shape " + shape_str(from) +
                    ", which has " + std::to_string(from.size()) + " axes");
    // As pairs of axes (repeat, extent): `a` seen as (1, s0, 1, s1, ...) is
    // broadcast to (r0, s0, r1, s1, ...), whose row-major values are the
    // result of shape (r0 s0, r1 s1, ...).
    const std::size_t lead = repeats.size() - from.size();
    Shape single, tiled, shape;
    for (std::size_t i = 0; i < repeats.size(); ++i) {
        const std::size_t s = i < lead ? 1 : from[i - lead], r = repeats[i];
        if (s != 0 && r > std::numeric_limits<std::size_t>::max() / s)
            throw Error("repeat: " + std::to_string(r) + " repeats of axis " + std::to_string(i) + " of shape " +
                        shape_str(from) + " overflow");
        single.insert(single.end(), {1, s});
        tiled.insert(tiled.end(), {r, s});
        shape.push_back(r * s);
    }
    checked_element_count("repeat", shape, sizeof(T));
    Array<T> source = a.data();
    source.reshape(single);
    Array<T> out = xt::broadcast(source, tiled);
    out.reshape(shape);
    return record<T>("repeat", std::move(out), {a},
                     [single, tiled](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{reshape(sum_to(reshape(g, tiled), single), in[0].shape())};
                     });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_layout 1
#include <tapegrad/autograd/ops/instantiate.hpp>
