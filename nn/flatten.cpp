#include <tapegrad/nn/flatten.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/axis.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> Flatten<T>::forward(const Tensor<T>& input) {
    const std::string name = "Flatten(" + extra_repr() + ")";
    // torch.flatten treats a 0-d tensor as one of shape (1).
    const Shape in = input.dim() == 0 ? Shape{1} : input.shape();
    const std::size_t start = normalize_axis(name.c_str(), options_.start_dim(), in),
                      end = normalize_axis(name.c_str(), options_.end_dim(), in);
    if (start > end)
        throw Error(name + ": start_dim comes after end_dim for input of shape " + shape_str(input.shape()));
    Shape out(in.begin(), in.begin() + std::ptrdiff_t(start));
    std::size_t merged = 1;
    for (std::size_t axis = start; axis <= end; ++axis) merged *= in[axis];
    out.push_back(merged);
    out.insert(out.end(), in.begin() + std::ptrdiff_t(end) + 1, in.end());
    return out == input.shape() ? input : reshape(input, out);
}

template <class T>
std::string Flatten<T>::extra_repr() const {
    return "start_dim=" + std::to_string(options_.start_dim()) + ", end_dim=" + std::to_string(options_.end_dim());
}

template class Flatten<float>;
template class Flatten<double>;

}  // namespace tapegrad::nn
