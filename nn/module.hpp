/// \file
/// Module<T>: the base of every layer and network, like torch.nn.Module.
///
/// A module owns named parameters (Tensor handles with requires_grad), named
/// buffers (state that is saved but never differentiated nor stepped, such as
/// batch norm's running statistics) and named child modules. Names are
/// hierarchical: in Sequential(Linear, Sigmoid, Linear) the parameters are
/// "0.weight", "0.bias", "2.weight", "2.bias".
#pragma once

#include <iosfwd>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

/// Layers and networks on top of tapegrad's autograd, after torch.nn: the
/// Module base, Linear, activations, Sequential and make_mlp, losses, weight
/// initialisers, and saving parameters as .npz. Every class template is
/// instantiated for float and double.
namespace tapegrad::nn {

/// Deep copy of a module's parameter and buffer values, keyed by hierarchical
/// name.
template <class T>
using StateDict = std::map<std::string, xt::xarray<T>>;

/// What a buffer holds, which decides how files store it.
enum class BufferKind {
    /// Values of T, stored with T's dtype (running means and variances).
    Real,
    /// Whole numbers, such as batch norm's num_batches_tracked: kept in T like
    /// every value, stored as int64 as PyTorch does, and read back only when
    /// T holds them exactly (float: up to 2^24).
    Integer,
};

/// The base of every layer and network: owns named parameters, named buffers
/// and named children (each in registration order) and the training flag. Subclasses
/// implement forward() and type_name() and register their parameters and
/// children in their constructor. Not copyable; share one through Ptr.
/// Not synchronised: a module must not be changed (train(), load_state(), an
/// optimizer step) while another thread uses it.
template <class T>
class Module {
public:
    /// Modules are held and shared through this: a Sequential keeps its
    /// children alive.
    using Ptr = std::shared_ptr<Module<T>>;
    /// (name, value) pairs in registration order.
    template <class V>
    using Named = std::vector<std::pair<std::string, V>>;

    /// An empty module, in training mode.
    Module() = default;
    virtual ~Module() = default;
    /// Parameters are handles: a copied module would silently share them.
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// The module's output for `input`, recorded on the tape so that
    /// backward() reaches the parameters. Throws tapegrad::Error (naming the
    /// layer and the shapes) for an input it cannot take.
    virtual Tensor<T> forward(const Tensor<T>& input) = 0;
    /// Same as forward(input), so a module reads like a function: `net(x)`.
    Tensor<T> operator()(const Tensor<T>& input) { return forward(input); }

    /// Own parameters first, then each child's, in registration order, with
    /// hierarchical names ("0.weight"). The tensors are handles to the
    /// module's own parameters, not copies.
    Named<Tensor<T>> named_parameters() const;
    /// The tensors of named_parameters(), in the same order: what an
    /// optimizer takes.
    std::vector<Tensor<T>> parameters() const;
    /// Own buffers first, then each child's, in registration order, with
    /// hierarchical names ("1.running_mean"), as named_parameters(). Handles,
    /// not copies; none requires a gradient.
    Named<Tensor<T>> named_buffers() const;
    /// The tensors of named_buffers(), in the same order.
    std::vector<Tensor<T>> buffers() const;
    /// The hierarchical names of the buffers registered as BufferKind::Integer:
    /// the state_dict() entries that files store as int64.
    std::set<std::string> integer_buffer_names() const;
    /// The direct children, by name, in registration order.
    const Named<Ptr>& children() const { return children_; }

    /// The parameter of hierarchical name `name` ("blocks.0.attn.weight", as
    /// named_parameters() gives it): a handle, not a copy. Throws
    /// tapegrad::Error naming `name` and the part of it that is missing.
    Tensor<T> named_parameter(const std::string& name) const;
    /// The buffer of hierarchical name `name` ("1.running_mean"), as
    /// named_parameter().
    Tensor<T> named_buffer(const std::string& name) const;
    /// The descendant module of hierarchical name `name` ("blocks.0"; "" is
    /// this module), as PyTorch's get_submodule. Throws tapegrad::Error naming
    /// `name` and the part of it that is missing.
    Module& named_module(const std::string& name);
    /// The number of scalars in all parameters (children's included), as
    /// `sum(p.numel() for p in model.parameters())`; with `trainable_only`,
    /// only those that require a gradient (not frozen with
    /// set_requires_grad(false)).
    std::size_t parameter_count(bool trainable_only = false) const;

    /// Drops the gradient of every parameter, children's included (like
    /// PyTorch's set_to_none): the next backward() starts from none.
    void zero_grad();
    /// Sets training mode (`on`) or evaluation mode on this module and all its
    /// children. Dropout and batch norm differ between the two (dropout is off
    /// in evaluation, batch norm uses its running statistics); the other
    /// built-in layers compute the same either way.
    void train(bool on = true);  // this module and all its children
    /// Same as train(false).
    void eval() { train(false); }
    /// True in training mode, the default.
    bool is_training() const { return training_; }

    /// A deep copy of every parameter's and buffer's values, keyed as
    /// named_parameters() and named_buffers() (PyTorch's names, e.g.
    /// "1.weight", "1.running_mean"): later training does not change it.
    StateDict<T> state_dict() const;
    /// Throws tapegrad::Error naming the first missing, unexpected or wrongly
    /// shaped parameter or buffer, or an integer buffer's value that is not a
    /// whole number; never changes the module.
    void check_state(const StateDict<T>& state) const;
    /// check_state, then copies every value in: all or nothing. The parameter
    /// and buffer handles stay the same, so an optimizer holding them sees the
    /// new values.
    void load_state(const StateDict<T>& state);

    /// PyTorch-style printout: "Sequential(\n  (0): Linear(in_features=...)\n ...)".
    std::string to_string() const;

protected:
    /// The name to_string() and error messages print, e.g. "Linear". By
    /// default the class's own name without namespaces or template arguments
    /// ("ResidualBlock" for custom::ResidualBlock<float>), as LibTorch.
    virtual std::string type_name() const;
    /// What to_string() prints between the parentheses after type_name(),
    /// e.g. "in_features=784, out_features=100, bias=true"; empty by default.
    virtual std::string extra_repr() const { return ""; }
    /// Adds `value` as parameter `name`, sets requires_grad on it and returns
    /// the same handle, to keep in a member.
    ///
    /// Both this and register_module throw tapegrad::Error, naming the name and
    /// this module's type, for a name that is empty, contains '.' or is already
    /// a parameter, buffer or child here (as LibTorch's do), and change nothing then.
    /// This one also throws for an undefined `value`.
    Tensor<T> register_parameter(const std::string& name, Tensor<T> value);
    /// Adds `value` as buffer `name` (saved in state_dict(), never
    /// differentiated nor given to optimizers) and returns the same handle, to
    /// keep in a member; `kind` says how files store it. Throws as
    /// register_parameter, and also for a `value` an op made (a buffer has no
    /// history) or, for BufferKind::Integer, one that is not a whole number.
    /// A leaf `value` that requires a gradient stops requiring one.
    Tensor<T> register_buffer(const std::string& name, Tensor<T> value, BufferKind kind = BufferKind::Real);
    /// Adds `child` under `name` and returns it, typed, to keep in a member:
    /// `fc1_ = register_module("fc1", std::make_shared<Linear<T>>(4, 8));`.
    /// Also throws tapegrad::Error for a null child. The module shares
    /// ownership of the child.
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
        static_assert(std::is_base_of_v<Module<T>, M>, "register_module: the child must be a Module<T>");
        add_child(name, child);
        return child;
    }
    /// Makes a child module M from `args` (M's constructor arguments) and
    /// registers it under `name`, as LibTorch's register_module with a
    /// module: `fc1_ = register_module<Linear<T>>("fc1", LinearOptions(4, 8));`.
    /// Throws as the other form; nothing is registered when M's constructor throws.
    template <class M, class... Args, class = std::enable_if_t<std::is_constructible_v<M, Args&&...>>>
    std::shared_ptr<M> register_module(const std::string& name, Args&&... args) {
        check_new_name(name, "module");
        return register_module(name, std::make_shared<M>(std::forward<Args>(args)...));
    }

private:
    void add_child(const std::string& name, Ptr child);
    // The module that holds the last part of `name` (and that part), walking
    // the children named by the parts before it (by all of them, with
    // walk_last: the module `name` names, and ""); `what` names it in errors.
    std::pair<const Module*, std::string> owner_of(const std::string& name, const char* what, bool walk_last) const;
    // named_parameter or named_buffer: the entry of `entries` `name` names.
    Tensor<T> named_tensor(const std::string& name, const char* what, Named<Tensor<T>> Module::*entries) const;
    void check_new_name(const std::string& name, const char* what) const;
    void append_lines(std::string& out, const std::string& indent) const;

    Named<Tensor<T>> params_;
    Named<Tensor<T>> buffers_;
    std::set<std::string> integer_buffers_;  // own buffers registered as BufferKind::Integer
    Named<Ptr> children_;
    bool training_ = true;
};

/// Writes module.to_string() and ends the line, as PyTorch's print(model):
/// `std::cout << *model;` prints whole lines. to_string() has no final newline.
template <class T>
std::ostream& operator<<(std::ostream& os, const Module<T>& module);

extern template class Module<float>;
extern template class Module<double>;

}  // namespace tapegrad::nn
