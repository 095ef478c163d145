/// \file
/// Sequential: runs its children in order; they are named "0", "1", ...
/// Sequentials nest: a child may itself be a Sequential.
#pragma once

#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// A chain of modules, as torch.nn.Sequential: each child's output is the
/// next child's input. Child k is named "k", so its parameters are "k.weight"
/// and so on.
template <class T>
class Sequential : public Module<T> {
public:
    /// Module<T>::Ptr: children are shared, not copied.
    using Ptr = typename Module<T>::Ptr;

    /// An empty chain; forward() then returns its input.
    Sequential() = default;
    /// push_back of each module in order; throws tapegrad::Error for a null one.
    explicit Sequential(const std::vector<Ptr>& modules);

    /// Appends `module` as child size(), sharing ownership, and returns this
    /// Sequential so calls chain. Throws tapegrad::Error for a null module,
    /// adding nothing.
    Sequential& push_back(Ptr module);
    /// The number of children.
    std::size_t size() const { return this->children().size(); }
    /// Child `index`; throws tapegrad::Error naming the index and the size
    /// when it is out of range. The reference lives as long as this Sequential.
    Module<T>& operator[](std::size_t index) const;

    /// Runs input through every child in order. Throws whatever a child throws
    /// (tapegrad::Error for a shape mismatch).
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    /// "Sequential".
    std::string type_name() const override { return "Sequential"; }
};

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace tapegrad::nn
