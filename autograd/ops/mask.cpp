// masked_fill tril triu: elements replaced by a constant where a mask (given,
// or the triangle's) says so. The gradient is the output's with the same
// elements replaced by 0: the same op on it, so it differentiates again.
#include <algorithm>

#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/mask.hpp>

namespace tapegrad {

template <class T>
Tensor<T> masked_fill(const Tensor<T>& a, const Tensor<T>& mask, Scalar<T> value) {
    const Shape shape = a.shape();
    if (broadcast_shapes("masked_fill", mask.shape(), shape) != shape)
        throw Error("masked_fill: the mask of shape " + shape_str(mask.shape()) + " does not broadcast to shape " +
                    shape_str(shape));
    detail::check_mask("masked_fill", "mask", mask);
    // Replaced, not multiplied: NaN and inf under the mask go, as in PyTorch.
    Array<T> out = xt::where(xt::not_equal(mask.data(), T(0)), value, a.data());
    // The mask is a constant of the graph, as where's condition: its values are kept.
    return record<T>("masked_fill", std::move(out), {a},
                     [m = mask.data()](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{masked_fill(g, Tensor<T>(m), T(0))};
                     });
}

namespace {
// tril (lower) or triu of the last two axes of `a`, each matrix in turn.
template <class T>
Tensor<T> triangle(const char* op, const Tensor<T>& a, std::int64_t diagonal, bool lower) {
    const Shape shape = a.shape();
    if (shape.size() < 2)
        throw Error(std::string(op) + ": expects a tensor of rank >= 2, got shape " + shape_str(shape));
    const auto rows = std::int64_t(shape[shape.size() - 2]), cols = std::int64_t(shape[shape.size() - 1]);
    Array<T> out = a.data();
    // Beyond [-rows, cols] every diagonal keeps all or nothing: clamped, i + d cannot overflow.
    const std::int64_t d = std::clamp(diagonal, -rows, cols);
    if (rows * cols > 0) {
        // Row i keeps columns j with j - i <= diagonal (tril) or >= diagonal
        // (triu), and has the others, one run of them, set to 0.
        for (T* m = out.data(); m != out.data() + out.size(); m += rows * cols)
            for (std::int64_t i = 0; i < rows; ++i) {
                const std::int64_t edge = std::clamp(i + d + (lower ? 1 : 0), std::int64_t(0), cols);
                std::fill(m + i * cols + (lower ? edge : 0), m + i * cols + (lower ? cols : edge), T(0));
            }
    }
    return record<T>(op, std::move(out), {a},
                     [diagonal, lower](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{lower ? tril(g, diagonal) : triu(g, diagonal)};
                     });
}
}  // namespace

template <class T>
Tensor<T> tril(const Tensor<T>& a, std::int64_t diagonal) {
    return triangle("tril", a, diagonal, true);
}

template <class T>
Tensor<T> triu(const Tensor<T>& a, std::int64_t diagonal) {
    return triangle("triu", a, diagonal, false);
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_mask 1
#include <tapegrad/autograd/ops/instantiate.hpp>
