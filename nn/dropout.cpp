#include <tapegrad/nn/dropout.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> Dropout<T>::forward(const Tensor<T>& input) {
    const double p = options_.p();
    // No draw when nothing is dropped: evaluation leaves the seed sources alone.
    if (!this->is_training() || p == 0) return input;
    return dropout(input, p, true, draw_seed());
}

template <class T>
std::string Dropout<T>::extra_repr() const {
    return "p=" + detail::option_value_text(options_.p());
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace tapegrad::nn
