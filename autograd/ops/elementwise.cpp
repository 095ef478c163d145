// add sub mul div neg with numpy broadcasting, and their scalar forms.
// A broadcast input's gradient is summed back to its own shape (sum_to).
#include <xtensor/xbroadcast.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/same_shape.hpp>

namespace tapegrad {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    Shape out(std::max(a.size(), b.size()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        // Align from the right: missing leading dimensions count as 1.
        std::size_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
        std::size_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
        if (da != db && da != 1 && db != 1)
            throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                        " cannot be broadcast together");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

namespace {
template <class T>
void check_broadcast(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
    if (!detail::shapes_equal(a.data().shape(), b.data().shape())) broadcast_shapes(op, a.shape(), b.shape());
}

// sum_to(g, input.shape()), without building the Shape (a heap-allocated
// std::vector) in the common case where nothing was broadcast: on tiny
// tensors that allocation was a visible part of each backward step.
template <class T>
Tensor<T> grad_for(const Tensor<T>& g, const Tensor<T>& input) {
    if (detail::shapes_equal(g.data().shape(), input.data().shape())) return g;
    return sum_to(g, input.shape());
}
}  // namespace

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("add", a, b);
    return record<T>("add", detail::evaluate<T>(a.data() + b.data(), a.data(), b.data()), {a, b}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{grad_for(g, in[0]), grad_for(g, in[1])};
    });
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("sub", a, b);
    return record<T>("sub", detail::evaluate<T>(a.data() - b.data(), a.data(), b.data()), {a, b}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{grad_for(g, in[0]), in[1].requires_grad() ? grad_for(neg(g), in[1]) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("mul", a, b);
    return record<T>("mul", detail::evaluate<T>(a.data() * b.data(), a.data(), b.data()), {a, b}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{in[0].requires_grad() ? grad_for(mul(g, in[1]), in[0]) : Tensor<T>(),
                             in[1].requires_grad() ? grad_for(mul(g, in[0]), in[1]) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("div", a, b);
    return record<T>("div", detail::evaluate<T>(a.data() / b.data(), a.data(), b.data()), {a, b}, [](const Inputs<T>& in, const Tensor<T>& out, const Tensor<T>& g) {
        // d(a/b)/db = -(a/b)/b
        return Gradients<T>{in[0].requires_grad() ? grad_for(div(g, in[1]), in[0]) : Tensor<T>(),
                             in[1].requires_grad() ? grad_for(neg(div(mul(g, out), in[1])), in[1]) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> neg(const Tensor<T>& a) {
    return record<T>("neg", detail::evaluate<T>(-a.data(), a.data()), {a}, [](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{neg(g)};
    });
}

template <class T>
Tensor<T> add(const Tensor<T>& a, Scalar<T> s) {
    return record<T>("add_scalar", detail::evaluate<T>(a.data() + s, a.data()), {a}, [](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{g};
    });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, Scalar<T> s) {
    return record<T>("mul_scalar", detail::evaluate<T>(a.data() * s, a.data()), {a}, [s](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{mul(g, s)};
    });
}

template <class T>
Tensor<T> rsub(Scalar<T> s, const Tensor<T>& a) {
    return record<T>("rsub_scalar", detail::evaluate<T>(s - a.data(), a.data()), {a}, [](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{neg(g)};
    });
}

template <class T>
Tensor<T> rdiv(Scalar<T> s, const Tensor<T>& a) {
    return record<T>("rdiv_scalar", detail::evaluate<T>(s / a.data(), a.data()), {a}, [](const Inputs<T>& in, const Tensor<T>& out, const Tensor<T>& g) {
        // d(s/a)/da = -(s/a)/a
        return Gradients<T>{neg(div(mul(g, out), in[0]))};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_elementwise 1
#include <tapegrad/autograd/ops/instantiate.hpp>
