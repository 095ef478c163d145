// Sequential: runs its children in order; they are named "0", "1", ...
// Sequentials nest: a child may itself be a Sequential.
#pragma once

#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Sequential : public Module<T> {
public:
    using Ptr = typename Module<T>::Ptr;

    Sequential() = default;
    explicit Sequential(const std::vector<Ptr>& modules);

    Sequential& push_back(Ptr module);
    std::size_t size() const { return this->children().size(); }
    Module<T>& operator[](std::size_t index) const;

    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    std::string type_name() const override { return "Sequential"; }
};

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace tapegrad::nn
