// max_pool2d, avg_pool2d and avg_pool2d's input gradient, with take and
// put_add, which carry max_pool2d's gradient to the maxima and back.
//
// A pool reads windows of each (N, C) plane, placed as a convolution's
// (ops/window.hpp); the windows along each axis are resolved once per call
// (their first and last pixel inside the image, and avg_pool2d's divisor),
// so the loops over the planes only read them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/window.hpp>

namespace tapegrad {

namespace {

using detail::Index;
using detail::output_extent;

// The input positions one output reads along one axis: begin, begin + step,
// ... below end; `count` is the divisor's factor along this axis for
// avg_pool2d (the window's extent, padding included if asked).
struct Span {
    std::size_t begin, end, count;
};

struct PoolDims {
    std::size_t N, C, H, W, OH, OW;
    Size2 kernel, stride, pad, dil;
    std::vector<Span> rows, cols;
    std::size_t plane() const { return H * W; }
};

// The windows along one axis, PyTorch's: start at o * stride - pad, taps
// `dil` apart, those outside [0, in) skipped.
std::vector<Span> spans(std::size_t in, std::size_t out, std::size_t k, std::size_t s, std::size_t p, std::size_t dil,
                        bool count_padding) {
    std::vector<Span> result(out);
    for (std::size_t o = 0; o < out; ++o) {
        const Index start = Index(o * s) - Index(p);
        // The first tap inside the image, skipping those in the padding at
        // once (a window of 2^50 pixels may start 2^49 of them early).
        const Index begin = start >= 0 ? start : start + Index((std::size_t(-start) + dil - 1) / dil * dil);
        const Index end = std::min<Index>(start + Index((k - 1) * dil + 1), Index(in));
        const Index padded_end = std::min<Index>(start + Index(k), Index(in + p));
        const Index count = count_padding ? padded_end - start : std::max<Index>(end - begin, 0);
        result[o] = {std::size_t(begin), std::size_t(std::max(end, begin)), std::size_t(count)};
    }
    return result;
}

PoolDims pool_dims(const char* op, std::size_t element_bytes, const Shape& input, Size2 kernel, Size2 stride,
                   Size2 padding, Size2 dilation, bool count_padding = true) {
    if (stride == Size2()) stride = kernel;  // PyTorch's stride=None
    auto fail = [&](const std::string& why) {
        return Error(std::string(op) + ": " + why + " (input " + shape_str(input) + ", kernel " + size2_str(kernel) +
                     ", stride " + size2_str(stride) + ", padding " + size2_str(padding) + ", dilation " +
                     size2_str(dilation) + ")");
    };
    if (input.size() != 4) throw fail("the input must be 4-D (N, C, H, W)");
    if (kernel.h == 0 || kernel.w == 0) throw fail("the kernel must be > 0 along both axes");
    if (stride.h == 0 || stride.w == 0) throw fail("the stride must be > 0 along both axes");
    if (dilation.h == 0 || dilation.w == 0) throw fail("the dilation must be > 0 along both axes");
    if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2) throw fail("the padding must be at most half the kernel");
    PoolDims d{};
    d.N = input[0], d.C = input[1], d.H = input[2], d.W = input[3];
    d.kernel = kernel, d.stride = stride, d.pad = padding, d.dil = dilation;
    d.OH = output_extent(d.H, kernel.h, stride.h, padding.h, dilation.h, fail);
    d.OW = output_extent(d.W, kernel.w, stride.w, padding.w, dilation.w, fail);
    checked_element_count(op, input, element_bytes);
    checked_element_count(op, {d.N, d.C, d.OH, d.OW}, element_bytes);
    checked_element_count(op, {d.OH + d.OW}, sizeof(Span));  // the windows, made even for an empty batch
    d.rows = spans(d.H, d.OH, kernel.h, stride.h, padding.h, dilation.h, count_padding);
    d.cols = spans(d.W, d.OW, kernel.w, stride.w, padding.w, dilation.w, count_padding);
    // A dilated window can fall between the pixels entirely; PyTorch then
    // points its gradient outside the input. Refused here instead.
    auto empty = [](const Span& s) { return s.begin >= s.end; };
    if (std::any_of(d.rows.begin(), d.rows.end(), empty) || std::any_of(d.cols.begin(), d.cols.end(), empty))
        throw fail("a window holds padding only");
    return d;
}

Shape pool_output_shape(const PoolDims& d) { return {d.N, d.C, d.OH, d.OW}; }

// Calls f(plane, output index, row span, column span) for every output.
template <class F>
void for_each_window(const PoolDims& d, F&& f) {
    std::size_t out = 0;
    for (std::size_t plane = 0; plane < d.N * d.C; ++plane)
        for (std::size_t oh = 0; oh < d.OH; ++oh)
            for (std::size_t ow = 0; ow < d.OW; ++ow, ++out) f(plane, out, d.rows[oh], d.cols[ow]);
}

template <class T>
void max_pool_forward(const T* x, const PoolDims& d, T* y, std::size_t* at) {
    // Plain loops over locals: the hottest loop of a small CNN after the
    // products, where a lambda's captured references cost loads per pixel.
    const std::size_t W = d.W, plane_size = d.plane(), step_h = d.dil.h, step_w = d.dil.w;
    for (std::size_t plane = 0; plane < d.N * d.C; ++plane) {
        const T* src = x + plane * plane_size;
        for (const Span& r : d.rows)
            for (const Span& c : d.cols) {
                // PyTorch's CPU kernel keeps the first maximum of the
                // row-major scan, a NaN taking over whenever one is met. The
                // same result in two branch-free passes: which pixel wins is
                // data, and a compare-and-branch per pixel mispredicted so
                // often that this loop took twice as long.
                T best_value = -std::numeric_limits<T>::infinity();
                bool nan = false;
                for (std::size_t ih = r.begin; ih < r.end; ih += step_h)
                    for (std::size_t iw = c.begin; iw < c.end; iw += step_w) {
                        const T v = src[ih * W + iw];
                        nan |= std::isnan(v);
                        best_value = v > best_value ? v : best_value;
                    }
                std::size_t best = r.begin * W + c.begin;  // stays so in an all -inf window
                const std::size_t taps_h = (r.end - r.begin + step_h - 1) / step_h;
                const std::size_t taps_w = (c.end - c.begin + step_w - 1) / step_w;
                if (nan) {  // the last NaN
                    for (std::size_t ih = r.begin; ih < r.end; ih += step_h)
                        for (std::size_t iw = c.begin; iw < c.end; iw += step_w)
                            if (std::isnan(src[ih * W + iw])) best = ih * W + iw;
                    best_value = src[best];
                } else {  // the first pixel equal to the maximum: scanned backwards
                    for (std::size_t th = taps_h; th-- > 0;)
                        for (std::size_t tw = taps_w; tw-- > 0;) {
                            const std::size_t i = (r.begin + th * step_h) * W + c.begin + tw * step_w;
                            best = src[i] == best_value ? i : best;
                        }
                }
                *y++ = best_value;
                *at++ = plane * plane_size + best;
            }
    }
}

// avg_pool2d (forward) and its adjoint (backward: each output's gradient
// spread over its window) share their windows and divisors.
template <class T>
Array<T> avg_pool_forward(const T* x, const PoolDims& d) {
    Array<T> out = Array<T>::from_shape(pool_output_shape(d));
    T* y = out.data();
    for_each_window(d, [&](std::size_t plane, std::size_t o, const Span& r, const Span& c) {
        const T* src = x + plane * d.plane();
        T total = T(0);
        for (std::size_t ih = r.begin; ih < r.end; ++ih)
            for (std::size_t iw = c.begin; iw < c.end; ++iw) total += src[ih * d.W + iw];
        y[o] = total / (T(r.count) * T(c.count));  // as T: the product of 2^32-pixel sides overflows size_t
    });
    return out;
}

template <class T>
Array<T> avg_pool_adjoint(const T* g, const PoolDims& d) {
    Array<T> out = xt::zeros<T>(Shape{d.N, d.C, d.H, d.W});
    T* gx = out.data();
    for_each_window(d, [&](std::size_t plane, std::size_t o, const Span& r, const Span& c) {
        T* dst = gx + plane * d.plane();
        const T share = g[o] / (T(r.count) * T(c.count));
        for (std::size_t ih = r.begin; ih < r.end; ++ih)
            for (std::size_t iw = c.begin; iw < c.end; ++iw) dst[ih * d.W + iw] += share;
    });
    return out;
}

void check_index(const char* op, const FlatIndex& index, std::size_t count, std::size_t bound, const Shape& from,
                 const Shape& to) {
    auto fail = [&](const std::string& why) {
        return Error(std::string(op) + ": " + why + " (from " + shape_str(from) + " to " + shape_str(to) + ")");
    };
    if (!index) throw fail("no index");
    if (index->size() != count)
        throw fail(std::to_string(index->size()) + " indices for " + std::to_string(count) + " elements");
    for (std::size_t i : *index)
        if (i >= bound) throw fail("index " + std::to_string(i) + " is out of range for " + std::to_string(bound) + " elements");
}

}  // namespace

template <class T>
Tensor<T> max_pool2d(const Tensor<T>& input, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation) {
    const PoolDims d = pool_dims("max_pool2d", sizeof(T), input.shape(), kernel, stride, padding, dilation);
    Array<T> out = Array<T>::from_shape(pool_output_shape(d));
    auto index = std::make_shared<std::vector<std::size_t>>(out.size());
    max_pool_forward(input.data().data(), d, out.data(), index->data());
    return record<T>("max_pool2d", std::move(out), {input},
                     [index = FlatIndex(std::move(index))](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{put_add(g, index, in[0].shape())};
                     });
}

template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& input, Size2 kernel, Size2 stride, Size2 padding, bool count_include_pad) {
    const PoolDims d = pool_dims("avg_pool2d", sizeof(T), input.shape(), kernel, stride, padding, Size2(1), count_include_pad);
    return record<T>("avg_pool2d", avg_pool_forward(input.data().data(), d), {input},
                     [kernel, stride = d.stride, padding, count_include_pad](const Inputs<T>& in, const Tensor<T>&,
                                                                             const Tensor<T>& g) {
                         return Gradients<T>{
                             avg_pool2d_input_grad(g, in[0].shape(), kernel, stride, padding, count_include_pad)};
                     });
}

template <class T>
Tensor<T> avg_pool2d_input_grad(const Tensor<T>& grad, const Shape& input_shape, Size2 kernel, Size2 stride,
                                Size2 padding, bool count_include_pad) {
    const PoolDims d = pool_dims("avg_pool2d_input_grad", sizeof(T), input_shape, kernel, stride, padding, Size2(1), count_include_pad);
    if (grad.shape() != pool_output_shape(d))
        throw Error("avg_pool2d_input_grad: the output gradient has shape " + shape_str(grad.shape()) +
                    ", the pooled output " + shape_str(pool_output_shape(d)));
    return record<T>("avg_pool2d_input_grad", avg_pool_adjoint(grad.data().data(), d), {grad},
                     [kernel, stride = d.stride, padding, count_include_pad](const Inputs<T>&, const Tensor<T>&,
                                                                             const Tensor<T>& g) {
                         return Gradients<T>{avg_pool2d(g, kernel, stride, padding, count_include_pad)};
                     });
}

template <class T>
Tensor<T> take(const Tensor<T>& a, const FlatIndex& index, const Shape& shape) {
    check_index("take", index, checked_element_count("take", shape, sizeof(T)), a.size(), a.shape(), shape);
    Array<T> out = Array<T>::from_shape(shape);
    const T* src = a.data().data();
    const std::size_t* at = index->data();
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = src[at[i]];
    return record<T>("take", std::move(out), {a}, [index](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{put_add(g, index, in[0].shape())};
    });
}

template <class T>
Tensor<T> put_add(const Tensor<T>& a, const FlatIndex& index, const Shape& shape) {
    check_index("put_add", index, a.size(), checked_element_count("put_add", shape, sizeof(T)), a.shape(), shape);
    Array<T> out = xt::zeros<T>(shape);
    const T* src = a.data().data();
    const std::size_t* at = index->data();
    for (std::size_t i = 0; i < a.size(); ++i) out.data()[at[i]] += src[i];
    return record<T>("put_add", std::move(out), {a}, [index](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{take(g, index, in[0].shape())};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_pool 1
#include <tapegrad/autograd/ops/instantiate.hpp>
