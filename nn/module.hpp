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
    /// The name to_string() prints, e.g. "Linear".
    virtual std::string type_name() const = 0;
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
    /// Adds `child` under `name`; also throws tapegrad::Error for a null child.
    /// The module shares ownership of the child.
    void register_module(const std::string& name, Ptr child);

private:
    void check_new_name(const std::string& name, const char* what) const;
    void append_lines(std::string& out, const std::string& indent) const;

    Named<Tensor<T>> params_;
    Named<Tensor<T>> buffers_;
    std::set<std::string> integer_buffers_;  // own buffers registered as BufferKind::Integer
    Named<Ptr> children_;
    bool training_ = true;
};

/// Writes module.to_string().
template <class T>
std::ostream& operator<<(std::ostream& os, const Module<T>& module);

extern template class Module<float>;
extern template class Module<double>;

}  // namespace tapegrad::nn
