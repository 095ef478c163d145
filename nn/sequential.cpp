#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::nn {

template <class T>
Sequential<T>::Sequential(const std::vector<Ptr>& modules) {
    for (const auto& module : modules) push_back(module);
}

template <class T>
Sequential<T>& Sequential<T>::push_back(Ptr module) {
    this->register_module(std::to_string(size()), std::move(module));
    return *this;
}

template <class T>
Module<T>& Sequential<T>::operator[](std::size_t index) const {
    if (index >= size())
        throw Error("Sequential: index " + std::to_string(index) + " out of range for " + std::to_string(size()) +
                    " modules");
    return *this->children()[index].second;
}

template <class T>
Tensor<T> Sequential<T>::forward(const Tensor<T>& input) {
    Tensor<T> x = input;
    for (const auto& child : this->children()) x = child.second->forward(x);
    return x;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace tapegrad::nn
