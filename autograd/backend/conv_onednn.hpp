// oneDNN's float convolutions, behind conv2d's three float passes
// (autograd/ops/conv.cpp). Internal: compiled as stubs that return false when the
// build has no oneDNN (meson option `onednn`), and double never comes here
// (oneDNN has no f64 convolutions), so im2col stays the reference path.
#pragma once

#include <cstddef>
#include <string>

namespace tapegrad::detail {

// One convolution's extents, as conv2d resolved and checked them: input
// (N, C, H, W), weight (O, C / groups, kh, kw), output (N, O, OH, OW);
// symmetric padding; dilation 1 = dense.
struct OnednnConv {
    std::size_t N, C, H, W, O, kh, kw, OH, OW, groups;
    std::size_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
};

// Each pass writes every element of its output (NCHW / OIHW, dense) and
// returns true, or returns false having written nothing when oneDNN is not
// built in or does not take the shape (an empty tensor, a primitive oneDNN
// refuses to create): the caller then runs im2col.
bool onednn_conv_forward(const OnednnConv& d, const float* x, const float* w, const float* bias, float* y);
bool onednn_conv_input_grad(const OnednnConv& d, const float* grad, const float* w, float* gx);
bool onednn_conv_weight_grad(const OnednnConv& d, const float* x, const float* grad, float* gw);

// "oneDNN 2.6.3 (avx512_core_amx, 2 threads)" when built in, else "".
std::string onednn_backend();

// The threads oneDNN's convolutions run on: 1 under a OneThreadProductsGuard
// (blas.hpp); else blas_threads() when the user has set OMP_WAIT_POLICY,
// otherwise 1 (why: conv_onednn.cpp); 0 without oneDNN.
int onednn_threads();

}  // namespace tapegrad::detail
