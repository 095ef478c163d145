// Module<T>: the base of every layer and network, like torch.nn.Module.
//
// A module owns named parameters (Tensor handles with requires_grad) and named
// child modules. Names are hierarchical: in Sequential(Linear, Sigmoid, Linear)
// the parameters are "0.weight", "0.bias", "2.weight", "2.bias".
#pragma once

#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn {

// Deep copy of a module's parameter values, keyed by hierarchical name.
template <class T>
using StateDict = std::map<std::string, xt::xarray<T>>;

template <class T>
class Module {
public:
    using Ptr = std::shared_ptr<Module<T>>;
    template <class V>
    using Named = std::vector<std::pair<std::string, V>>;

    Module() = default;
    virtual ~Module() = default;
    // Parameters are handles: a copied module would silently share them.
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    virtual Tensor<T> forward(const Tensor<T>& input) = 0;
    Tensor<T> operator()(const Tensor<T>& input) { return forward(input); }

    // Own parameters first, then each child's, in registration order.
    Named<Tensor<T>> named_parameters() const;
    std::vector<Tensor<T>> parameters() const;
    const Named<Ptr>& children() const { return children_; }

    void zero_grad();
    void train(bool on = true);  // this module and all its children
    void eval() { train(false); }
    bool is_training() const { return training_; }

    StateDict<T> state_dict() const;
    // Throws tapegrad::Error naming the first missing, unexpected or wrongly
    // shaped parameter; never changes the module.
    void check_state(const StateDict<T>& state) const;
    // check_state, then copies every value in: all or nothing.
    void load_state(const StateDict<T>& state);

    // PyTorch-style printout: "Sequential(\n  (0): Linear(in_features=...)\n ...)".
    std::string to_string() const;

protected:
    virtual std::string type_name() const = 0;
    virtual std::string extra_repr() const { return ""; }
    // Both throw tapegrad::Error, naming the name and this module's type, for
    // a name that is empty, contains '.' or is already a parameter or child
    // here (as LibTorch's do), and change nothing then.
    Tensor<T> register_parameter(const std::string& name, Tensor<T> value);
    void register_module(const std::string& name, Ptr child);

private:
    void check_new_name(const std::string& name, const char* what) const;
    void append_lines(std::string& out, const std::string& indent) const;

    Named<Tensor<T>> params_;
    Named<Ptr> children_;
    bool training_ = true;
};

template <class T>
std::ostream& operator<<(std::ostream& os, const Module<T>& module);

extern template class Module<float>;
extern template class Module<double>;

}  // namespace tapegrad::nn
