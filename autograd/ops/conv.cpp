// conv2d and its two gradients (pooling is ops/pool.cpp).
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
#include <string>
#include <type_traits>
#include <vector>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/backend/conv_onednn.hpp>
#include <tapegrad/autograd/backend/gemm.hpp>
#include <tapegrad/autograd/ops/window.hpp>

namespace tapegrad {

std::string size2_str(const Size2& s) { return "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")"; }

namespace {

using detail::Index;
using detail::output_extent;

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

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_conv 1
#include <tapegrad/autograd/ops/instantiate.hpp>
