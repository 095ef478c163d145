// conv2d and its two gradients, max_pool2d, avg_pool2d, take and put_add.
//
// A convolution is computed as im2col and a matrix product per image: the
// input pixels under each kernel tap are copied into the rows of a matrix
// (one column per output position), and the weight, (O, C k k) as stored,
// multiplies it with the project's BLAS gemm. Its gradients are the same two
// steps reversed (a product, then col2im adding columns back into the image).
// conv2d, conv2d_input_grad and conv2d_weight_grad are bilinear and adjoint
// to one another, so each one's backward is written with the other two, and
// every order of derivative stays on this fast path.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <xtensor/xbuilder.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/backend/conv_onednn.hpp>
#include <tapegrad/autograd/backend/gemm.hpp>

namespace tapegrad {

std::string size2_str(const Size2& s) { return "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")"; }

namespace {

using Index = std::ptrdiff_t;

// ---- convolution ---------------------------------------------------------------

// The extents of one convolution, checked against each other.
struct ConvDims {
    std::size_t N, C, H, W, O, kh, kw, OH, OW, groups;
    Size2 stride, pad, dil;
    std::size_t group_in() const { return C / groups; }
    std::size_t group_out() const { return O / groups; }
    std::size_t taps() const { return group_in() * kh * kw; }  // rows of one group's columns
    std::size_t positions() const { return OH * OW; }          // columns: output positions
    std::size_t image() const { return C * H * W; }
    // A 1x1 kernel at stride 1 without padding reads the image as it lies:
    // the columns are the image itself, no copy needed.
    bool columns_are_image() const {
        return kh == 1 && kw == 1 && stride == Size2(1) && pad == Size2(0);
    }
};

std::string geometry_str(const Conv2dGeometry& g) {
    return "stride " + size2_str(g.stride()) + ", padding " + size2_str(g.padding()) + ", dilation " +
           size2_str(g.dilation()) + ", groups " + std::to_string(g.groups());
}

// The output extent along one axis: (in + 2 pad - span) / stride + 1 for a
// kernel spanning span = dil (k - 1) + 1 input pixels. Throws fail(why) when
// the span exceeds the padded input, or when either or the stride does not
// fit in an Index (the kernels' signed offsets; PyTorch's geometry is int64).
template <class Fail>
std::size_t output_extent(std::size_t in, std::size_t k, std::size_t stride, std::size_t pad, std::size_t dil,
                          const Fail& fail) {
    constexpr std::size_t most = std::numeric_limits<Index>::max();
    if (in > most || stride > most) throw fail("the input or the stride is too large");
    if (pad > (most - in) / 2 || k - 1 > (most - 1) / dil) throw fail("the padding or the dilated kernel is too large");
    const std::size_t span = dil * (k - 1) + 1, padded = in + 2 * pad;
    if (span > padded)
        throw fail("the kernel spans " + std::to_string(span) + " pixels, more than the padded input's " +
                   std::to_string(padded));
    return (padded - span) / stride + 1;
}

// Checks an input and a weight shape for a convolution with `geometry` and
// resolves the output extents; every refusal names `op`, both shapes and the
// geometry.
ConvDims conv_dims(const char* op, const Shape& input, const Shape& weight, const Conv2dGeometry& geometry,
                   std::size_t element_bytes) {
    auto fail = [&](const std::string& why) -> Error {
        return Error(std::string(op) + ": " + why + " (input " + shape_str(input) + ", weight " + shape_str(weight) +
                     ", " + geometry_str(geometry) + ")");
    };
    if (input.size() != 4) throw fail("the input must be 4-D (N, C, H, W)");
    if (weight.size() != 4) throw fail("the weight must be 4-D (out_channels, in_channels / groups, kh, kw)");
    ConvDims d{};
    d.N = input[0], d.C = input[1], d.H = input[2], d.W = input[3];
    d.O = weight[0], d.kh = weight[2], d.kw = weight[3];
    d.groups = geometry.groups(), d.stride = geometry.stride(), d.pad = geometry.padding(), d.dil = geometry.dilation();
    if (d.kh == 0 || d.kw == 0) throw fail("the kernel is empty");
    if (d.C % d.groups != 0 || d.O % d.groups != 0)
        throw fail("input channels " + std::to_string(d.C) + " and output channels " + std::to_string(d.O) +
                   " must both divide into " + std::to_string(d.groups) + " groups");
    if (weight[1] != d.C / d.groups)
        throw fail("the weight expects " + std::to_string(weight[1]) + " input channels per group, the input has " +
                   std::to_string(d.C / d.groups));
    d.OH = output_extent(d.H, d.kh, d.stride.h, d.pad.h, d.dil.h, fail);
    d.OW = output_extent(d.W, d.kw, d.stride.w, d.pad.w, d.dil.w, fail);
    // Every array an op of the three makes: input, weight, output, columns.
    for (const Shape& made : {input, weight, Shape{d.N, d.O, d.OH, d.OW}, Shape{d.C, d.kh, d.kw, d.OH, d.OW}})
        checked_element_count(op, made, element_bytes);
    return d;
}

void check_grad_shape(const char* op, const Shape& grad, const Shape& expected) {
    if (grad != expected)
        throw Error(std::string(op) + ": the output gradient has shape " + shape_str(grad) + ", the convolution's output " +
                    shape_str(expected));
}

// The outputs o in [0, out) whose input position o * stride + offset lies in
// [0, in): [first, last).
std::pair<std::size_t, std::size_t> inside(Index offset, std::size_t stride, std::size_t in, std::size_t out) {
    const Index s = Index(stride);
    const Index first = offset >= 0 ? 0 : (-offset - 1) / s + 1;  // rounded up, without adding s to -offset
    const Index last = Index(in) - 1 - offset < 0 ? 0 : (Index(in) - 1 - offset) / s + 1;
    const std::size_t hi = std::min<std::size_t>(out, std::size_t(std::max<Index>(last, 0)));
    return {std::min<std::size_t>(std::size_t(first), hi), hi};
}

// Visits one image tap by tap: for channel c, tap (i, j) and output row oh,
// f(at, row, first, last, dj) gets the offset `at` of that stretch of the
// columns, the input row it reads (null in the padding), and the output
// columns [first, last) that fall inside the row; output column ow reads the
// row's pixel ow * stride.w + dj.
template <class Ptr, class F>
void for_each_tap_row(Ptr image, const ConvDims& d, F&& f) {
    const std::size_t L = d.positions();
    for (std::size_t c = 0; c < d.C; ++c)
        for (std::size_t i = 0; i < d.kh; ++i)
            for (std::size_t j = 0; j < d.kw; ++j) {
                const std::size_t row = (c * d.kh + i) * d.kw + j;
                const Index di = Index(i * d.dil.h) - Index(d.pad.h), dj = Index(j * d.dil.w) - Index(d.pad.w);
                const auto [first, last] = inside(dj, d.stride.w, d.W, d.OW);
                for (std::size_t oh = 0; oh < d.OH; ++oh) {
                    const Index ih = Index(oh * d.stride.h) + di;
                    const std::size_t at = row * L + oh * d.OW;
                    if (ih < 0 || ih >= Index(d.H))
                        f(at, Ptr(nullptr), first, last, dj);
                    else
                        f(at, image + (c * d.H + std::size_t(ih)) * d.W, first, last, dj);
                }
            }
}

// The columns of one image: row (c, i, j), column (oh, ow) holds the input
// pixel under tap (i, j) of channel c for output (oh, ow), 0 in the padding.
template <class T>
void im2col(const T* image, const ConvDims& d, T* columns) {
    const std::size_t sw = d.stride.w, OW = d.OW;
    for_each_tap_row(image, d, [&](std::size_t at, const T* in, std::size_t first, std::size_t last, Index dj) {
        T* out = columns + at;
        if (!in) {
            std::fill(out, out + OW, T(0));
            return;
        }
        std::fill(out, out + first, T(0));
        if (sw == 1 && first < last)  // a contiguous run, copied as such (vectorised)
            std::copy_n(in + (Index(first) + dj), last - first, out + first);
        else
            for (std::size_t ow = first; ow < last; ++ow) out[ow] = in[Index(ow * sw) + dj];
        std::fill(out + last, out + OW, T(0));
    });
}

// The reverse of im2col: adds each column entry back onto the pixel it was
// copied from (into `image`, which the caller has zeroed).
template <class T>
void col2im(const T* columns, const ConvDims& d, T* image) {
    const std::size_t sw = d.stride.w;
    for_each_tap_row(image, d, [&](std::size_t at, T* in, std::size_t first, std::size_t last, Index dj) {
        if (!in) return;
        const T* src = columns + at;
        if (sw == 1 && first < last) {  // a contiguous run: a loop the compiler vectorises
            T* dst = in + (Index(first) + dj);
            for (std::size_t k = 0; k < last - first; ++k) dst[k] += src[first + k];
        } else {
            for (std::size_t ow = first; ow < last; ++ow) in[Index(ow * sw) + dj] += src[ow];
        }
    });
}

// One column buffer per thread and type, grown as needed and kept: every
// convolution of a training step reuses it instead of allocating its own.
template <class T>
T* column_buffer(std::size_t size) {
    thread_local std::vector<T> buffer;
    if (buffer.size() < size) buffer.resize(size);
    return buffer.data();
}

// The columns of image n: the image itself or the buffer holding im2col's.
template <class T>
const T* columns_of(const T* image, const ConvDims& d) {
    if (d.columns_are_image()) return image;
    T* columns = column_buffer<T>(d.C * d.kh * d.kw * d.positions());
    im2col(image, d, columns);
    return columns;
}

// Float convolutions run in oneDNN where it is built in and takes the
// geometry (conv_onednn.hpp); double, the gradchecks' type, always in im2col.
detail::OnednnConv onednn_dims(const ConvDims& d) {
    return {d.N, d.C, d.H, d.W, d.O, d.kh, d.kw, d.OH, d.OW, d.groups,
            d.stride.h, d.stride.w, d.pad.h, d.pad.w, d.dil.h, d.dil.w};
}

template <class T>
Array<T> conv_forward(const T* x, const T* w, const T* bias, const ConvDims& d) {
    const std::size_t L = d.positions(), K = d.taps(), Og = d.group_out();
    Array<T> out = Array<T>::from_shape({d.N, d.O, d.OH, d.OW});
    if constexpr (std::is_same_v<T, float>)
        if (detail::onednn_conv_forward(onednn_dims(d), x, w, bias, out.data())) {
            count_multiply_adds(std::uint64_t(d.N) * d.O * L * K);  // what im2col's products would count
            return out;
        }
    for (std::size_t n = 0; n < d.N; ++n) {
        const T* columns = columns_of(x + n * d.image(), d);
        T* y = out.data() + n * d.O * L;
        for (std::size_t g = 0; g < d.groups; ++g)
            detail::gemm<T>(false, false, Og, L, K, T(1), w + g * Og * K, K, columns + g * K * L, L, T(0),
                            y + g * Og * L, L);
        if (bias)
            for (std::size_t o = 0; o < d.O; ++o)
                for (std::size_t p = 0; p < L; ++p) y[o * L + p] += bias[o];
    }
    return out;
}

template <class T>
Array<T> conv_input_grad(const T* grad, const T* w, const ConvDims& d) {
    const std::size_t L = d.positions(), K = d.taps(), Og = d.group_out();
    Array<T> gx = Array<T>::from_shape({d.N, d.C, d.H, d.W});
    if constexpr (std::is_same_v<T, float>)
        if (detail::onednn_conv_input_grad(onednn_dims(d), grad, w, gx.data())) return gx;
    std::fill(gx.data(), gx.data() + gx.size(), T(0));
    const bool direct = d.columns_are_image();
    for (std::size_t n = 0; n < d.N; ++n) {
        T* image = gx.data() + n * d.image();
        // The gradient of the columns, W^T G per group; for a 1x1 kernel
        // those are the image's gradient itself.
        T* columns = direct ? image : column_buffer<T>(d.C * d.kh * d.kw * L);
        for (std::size_t g = 0; g < d.groups; ++g)
            detail::gemm<T>(true, false, K, L, Og, T(1), w + g * Og * K, K, grad + (n * d.O + g * Og) * L, L, T(0),
                            columns + g * K * L, L);
        if (!direct) col2im(columns, d, image);
    }
    return gx;
}

template <class T>
Array<T> conv_weight_grad(const T* x, const T* grad, const ConvDims& d) {
    const std::size_t L = d.positions(), K = d.taps(), Og = d.group_out();
    Array<T> gw = Array<T>::from_shape({d.O, d.group_in(), d.kh, d.kw});
    if constexpr (std::is_same_v<T, float>)
        if (detail::onednn_conv_weight_grad(onednn_dims(d), x, grad, gw.data())) return gw;
    std::fill(gw.data(), gw.data() + gw.size(), T(0));
    for (std::size_t n = 0; n < d.N; ++n) {
        const T* columns = columns_of(x + n * d.image(), d);
        for (std::size_t g = 0; g < d.groups; ++g)  // G C^T, summed over the batch
            detail::gemm<T>(false, true, Og, K, L, T(1), grad + (n * d.O + g * Og) * L, L, columns + g * K * L, L,
                            T(1), gw.data() + g * Og * K, K);
    }
    return gw;
}

// The bias gradient: the output gradient summed over batch and positions.
// (A raw loop for the unrecorded case measured no faster than sum_to's on the
// CNN's first layer, 0.38 vs 0.40 ms, so there is one way.)
template <class T>
Tensor<T> bias_grad(const Tensor<T>& g) {
    const std::size_t channels = g.shape()[1];
    return reshape(sum_to(g, Shape{channels, 1, 1}), Shape{channels});
}

// ---- pooling -------------------------------------------------------------------

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

// ---- the ops -------------------------------------------------------------------

template <class T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, const Conv2dGeometry& geometry) {
    const ConvDims d = conv_dims("conv2d", input.shape(), weight.shape(), geometry, sizeof(T));
    if (bias.defined() && bias.shape() != Shape{d.O})
        throw Error("conv2d: the bias has shape " + shape_str(bias.shape()) + ", expected (" + std::to_string(d.O) +
                    ",) for weight " + shape_str(weight.shape()));
    Array<T> out = conv_forward(input.data().data(), weight.data().data(), bias.defined() ? bias.data().data() : nullptr, d);
    auto backward = [geometry](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        Gradients<T> grads(in.size());
        if (in[0].requires_grad()) grads[0] = conv2d_input_grad(g, in[1], in[0].shape(), geometry);
        if (in[1].requires_grad()) grads[1] = conv2d_weight_grad(in[0], g, in[1].shape(), geometry);
        if (in.size() > 2 && in[2].requires_grad()) grads[2] = bias_grad(g);
        return grads;
    };
    if (bias.defined()) return record<T>("conv2d", std::move(out), {input, weight, bias}, backward);
    return record<T>("conv2d", std::move(out), {input, weight}, backward);
}

template <class T>
Tensor<T> conv2d_input_grad(const Tensor<T>& grad, const Tensor<T>& weight, const Shape& input_shape,
                            const Conv2dGeometry& geometry) {
    const ConvDims d = conv_dims("conv2d_input_grad", input_shape, weight.shape(), geometry, sizeof(T));
    check_grad_shape("conv2d_input_grad", grad.shape(), {d.N, d.O, d.OH, d.OW});
    return record<T>("conv2d_input_grad", conv_input_grad(grad.data().data(), weight.data().data(), d), {grad, weight},
                     [geometry](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // Linear in each argument: <G, input_grad(grad, w)> = <conv2d(G, w), grad>.
                         Gradients<T> grads(2);
                         if (in[0].requires_grad()) grads[0] = conv2d(g, in[1], Tensor<T>(), geometry);
                         if (in[1].requires_grad()) grads[1] = conv2d_weight_grad(g, in[0], in[1].shape(), geometry);
                         return grads;
                     });
}

template <class T>
Tensor<T> conv2d_weight_grad(const Tensor<T>& input, const Tensor<T>& grad, const Shape& weight_shape,
                             const Conv2dGeometry& geometry) {
    const ConvDims d = conv_dims("conv2d_weight_grad", input.shape(), weight_shape, geometry, sizeof(T));
    check_grad_shape("conv2d_weight_grad", grad.shape(), {d.N, d.O, d.OH, d.OW});
    return record<T>("conv2d_weight_grad", conv_weight_grad(input.data().data(), grad.data().data(), d), {input, grad},
                     [geometry](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // <G, weight_grad(x, grad)> = <conv2d(x, G), grad>.
                         Gradients<T> grads(2);
                         if (in[0].requires_grad()) grads[0] = conv2d_input_grad(in[1], g, in[0].shape(), geometry);
                         if (in[1].requires_grad()) grads[1] = conv2d(in[0], g, Tensor<T>(), geometry);
                         return grads;
                     });
}

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

#define TAPEGRAD_INSTANTIATE_conv 1
#include <tapegrad/autograd/ops/instantiate.hpp>
