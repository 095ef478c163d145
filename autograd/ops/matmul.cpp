// matmul and linear through BLAS gemm (backend/gemm.hpp). Transposes travel as
// flags, so neither the forward nor the backward pass ever copies a matrix to
// transpose it.
#include <algorithm>
#include <functional>
#include <numeric>
#include <utility>
#include <vector>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/backend/gemm.hpp>

namespace tapegrad {

namespace {
// C = op(A) op(B) on row-major arrays.
template <class T>
Array<T> gemm(const Array<T>& a, const Array<T>& b, bool ta, bool tb) {
    const std::size_t m = ta ? a.shape()[1] : a.shape()[0];
    const std::size_t k = ta ? a.shape()[0] : a.shape()[1];
    const std::size_t n = tb ? b.shape()[0] : b.shape()[1];
    Array<T> c = Array<T>::from_shape({m, n});
    detail::gemm<T>(ta, tb, m, n, k, T(1), a.data(), a.shape()[1], b.data(), b.shape()[1], T(0), c.data(), n);
    return c;
}

// The gradients of C = op(A) op(B) for G = dC: d op(A) = G op(B)^T and
// d op(B) = op(A)^T G, with op undone on each side; all four cases keep the
// transposes as flags. For 2-D A and B, and for batched ones (then each
// gradient has the broadcast batch, which the caller sums back).
template <class T>
std::pair<Tensor<T>, Tensor<T>> product_gradients(const Tensor<T>& A, const Tensor<T>& B, const Tensor<T>& g, bool ta,
                                                  bool tb, bool need_a, bool need_b) {
    Tensor<T> ga, gb;
    if (!ta && !tb) {
        if (need_a) ga = matmul(g, B, false, true);
        if (need_b) gb = matmul(A, g, true, false);
    } else if (ta && !tb) {
        if (need_a) ga = matmul(B, g, false, true);
        if (need_b) gb = matmul(A, g, false, false);
    } else if (!ta && tb) {
        if (need_a) ga = matmul(g, B, false, false);
        if (need_b) gb = matmul(g, A, true, false);
    } else {
        if (need_a) ga = matmul(B, g, true, true);
        if (need_b) gb = matmul(g, A, true, true);
    }
    return {ga, gb};
}

std::size_t product_of(Shape::const_iterator first, Shape::const_iterator last) {
    return std::accumulate(first, last, std::size_t(1), std::multiplies<>());
}

// The batch axes of a tensor of at least 2 dimensions: all but the last two.
Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// The shape of torch.matmul(op(a), op(b)), or an Error naming both shapes.
// op transposes the last two axes where its flag is set; a 1-D operand takes
// no flag (it has no two last axes).
Shape product_shape(const Shape& a, const Shape& b, bool ta, bool tb, std::size_t element_bytes) {
    const auto named = [&] {
        return shape_str(a) + (ta ? "^T" : "") + " and " + shape_str(b) + (tb ? "^T" : "");
    };
    if (a.empty() || b.empty())
        throw Error("matmul: expects tensors of at least 1 dimension, got shapes " + named());
    if ((ta && a.size() == 1) || (tb && b.size() == 1))
        throw Error("matmul: a transpose flag needs at least 2 dimensions, got shapes " + named());
    // A vector is a row on the left and a column on the right, as in torch.
    const std::size_t ka = a.size() == 1 ? a[0] : ta ? a[a.size() - 2] : a.back();
    const std::size_t kb = b.size() == 1 ? b[0] : tb ? b.back() : b[b.size() - 2];
    if (ka != kb)
        throw Error("matmul: shapes " + named() + " are not aligned (" + std::to_string(ka) + " != " +
                    std::to_string(kb) + ")");
    Shape out;
    if (a.size() > 2 || b.size() > 2) {
        const Shape ba = a.size() >= 2 ? batch_of(a) : Shape{}, bb = b.size() >= 2 ? batch_of(b) : Shape{};
        try {
            out = broadcast_shapes("matmul", ba, bb);
        } catch (const Error&) {
            throw Error("matmul: the batch dimensions of shapes " + named() + " do not broadcast (" + shape_str(ba) +
                        " and " + shape_str(bb) + ")");
        }
    }
    if (a.size() >= 2) out.push_back(ta ? a.back() : a[a.size() - 2]);
    if (b.size() >= 2) out.push_back(tb ? b[b.size() - 2] : b.back());
    checked_element_count("matmul", out, element_bytes);
    return out;
}

// op(a) op(b) for a and b of at least 2 dimensions, one of them more, over
// the broadcast batch `out` (shape of the result). One GEMM when b has no
// batch of its own and a is not transposed, the batch folded into a's rows
// ((B, T, C) @ (C, D) is a (B T, C) @ (C, D) product); else one per batch
// element, each at its operands' offsets (0 along broadcast axes).
template <class T>
Array<T> batched_gemm(const Array<T>& a, const Array<T>& b, bool ta, bool tb, const Shape& out) {
    const Shape as(a.shape().begin(), a.shape().end()), bs(b.shape().begin(), b.shape().end());
    const std::size_t m = out[out.size() - 2], n = out.back(), k = ta ? as[as.size() - 2] : as.back();
    const std::size_t lda = as.back(), ldb = bs.back();
    const std::size_t rank = out.size() - 2;
    const std::size_t count = product_of(out.begin(), out.end() - 2);
    Array<T> c = Array<T>::from_shape(out);
    if (product_of(bs.begin(), bs.end() - 2) == 1 && !ta) {
        detail::gemm<T>(false, tb, count * m, n, k, T(1), a.data(), lda, b.data(), ldb, T(0), c.data(), n);
        return c;
    }
    // Per batch axis (of `out`), the step in matrices of a and of b: 0 where
    // that operand lacks the axis or broadcasts it.
    std::vector<std::size_t> step_a(rank, 0), step_b(rank, 0);
    const auto steps = [rank](const Shape& s, std::vector<std::size_t>& step) {
        const std::size_t own = s.size() - 2;
        std::size_t stride = 1;
        for (std::size_t i = own; i-- > 0;) {
            if (s[i] != 1) step[rank - own + i] = stride;
            stride *= s[i];
        }
    };
    steps(as, step_a);
    steps(bs, step_b);
    const std::size_t size_a = as[as.size() - 2] * as.back(), size_b = bs[bs.size() - 2] * bs.back();
    for (std::size_t e = 0; e < count; ++e) {
        std::size_t rest = e, ia = 0, ib = 0;
        for (std::size_t axis = rank; axis-- > 0;) {
            const std::size_t index = rest % out[axis];
            rest /= out[axis];
            ia += index * step_a[axis];
            ib += index * step_b[axis];
        }
        detail::gemm<T>(ta, tb, m, n, k, T(1), a.data() + ia * size_a, lda, b.data() + ib * size_b, ldb, T(0),
                        c.data() + e * m * n, n);
    }
    return c;
}
}  // namespace

template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
    if (a.dim() == 2 && b.dim() == 2) {  // the MLP's hot path: checks and one GEMM, nothing more
        const std::size_t ka = ta ? a.shape()[0] : a.shape()[1];
        const std::size_t kb = tb ? b.shape()[1] : b.shape()[0];
        if (ka != kb) product_shape(a.shape(), b.shape(), ta, tb, sizeof(T));  // throws, naming both shapes
        return record<T>("matmul", gemm(a.data(), b.data(), ta, tb), {a, b},
                         [ta, tb](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                             auto [ga, gb] = product_gradients(in[0], in[1], g, ta, tb, in[0].requires_grad(),
                                                               in[1].requires_grad());
                             return Gradients<T>{ga, gb};
                         });
    }
    const Shape out = product_shape(a.shape(), b.shape(), ta, tb, sizeof(T));
    if (a.dim() == 1 || b.dim() == 1) {
        // As torch: the vector becomes a (1, k) row or a (k, 1) column, and
        // that axis is dropped from the product; reshape carries the gradients.
        const Tensor<T> a2 = a.dim() == 1 ? reshape(a, {1, a.size()}) : a;
        const Tensor<T> b2 = b.dim() == 1 ? reshape(b, {b.size(), 1}) : b;
        return reshape(matmul(a2, b2, ta, tb), out);
    }
    return record<T>("matmul", batched_gemm(a.data(), b.data(), ta, tb, out), {a, b},
                     [ta, tb](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         const Tensor<T>&A = in[0], &B = in[1];
                         // The folded product's gradient for B is one folded product too, A^T G
                         // over all the batch's rows, instead of one per batch element and their sum.
                         const bool fold_b = B.dim() == 2 && !ta && B.requires_grad();
                         auto [ga, gb] = product_gradients(A, B, g, ta, tb, A.requires_grad(), B.requires_grad() && !fold_b);
                         if (fold_b) {
                             const Shape as = A.shape();
                             const std::size_t rows = product_of(as.begin(), as.end() - 1);
                             const Tensor<T> rows_a = reshape(A, {rows, as.back()}), rows_g = reshape(g, {rows, g.shape().back()});
                             gb = tb ? matmul(rows_g, rows_a, true, false) : matmul(rows_a, rows_g, true, false);
                         }
                         return Gradients<T>{ga.defined() ? sum_to(ga, A.shape()) : ga,
                                              gb.defined() ? sum_to(gb, B.shape()) : gb};
                     });
}

template <class T>
Tensor<T> linear(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias) {
    if (input.dim() != 2 || weight.dim() != 2 || bias.dim() != 1 || input.shape()[1] != weight.shape()[1] ||
        bias.shape()[0] != weight.shape()[0])
        throw Error("linear: expects input (batch, in), weight (out, in) and bias (out), got " +
                    shape_str(input.shape()) + ", " + shape_str(weight.shape()) + " and " + shape_str(bias.shape()));
    const std::size_t rows = input.shape()[0], in = weight.shape()[1], out = weight.shape()[0];
    // Every row starts as the bias, and the product is added to it.
    Array<T> y = Array<T>::from_shape({rows, out});
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(bias.data().data(), out, y.data() + r * out);
    detail::gemm<T>(false, true, rows, out, in, T(1), input.data().data(), in, weight.data().data(), in, T(1), y.data(),
                    out);
    return record<T>("linear", std::move(y), {input, weight, bias},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // matmul's backward for x W^T (transpose_b), and add's for the broadcast bias.
                         const Tensor<T>&x = in[0], &w = in[1], &b = in[2];
                         return Gradients<T>{x.requires_grad() ? matmul(g, w) : Tensor<T>(),
                                              w.requires_grad() ? matmul(g, x, true, false) : Tensor<T>(),
                                              b.requires_grad() ? sum_to(g, b.shape()) : Tensor<T>()};
                     });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_matmul 1
#include <tapegrad/autograd/ops/instantiate.hpp>
