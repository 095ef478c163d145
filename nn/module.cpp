#include <tapegrad/nn/module.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cxxabi.h>
#include <memory>
#include <ostream>
#include <typeinfo>

#include <tapegrad/autograd/options.hpp>

namespace tapegrad::nn {

template <class T>
typename Module<T>::template Named<Tensor<T>> Module<T>::named_parameters() const {
    Named<Tensor<T>> all = params_;
    for (const auto& [child_name, child] : children_)
        for (auto& [name, param] : child->named_parameters()) all.emplace_back(child_name + "." + name, param);
    return all;
}

template <class T>
std::vector<Tensor<T>> Module<T>::parameters() const {
    std::vector<Tensor<T>> all;
    for (auto& named : named_parameters()) all.push_back(named.second);
    return all;
}

template <class T>
typename Module<T>::template Named<Tensor<T>> Module<T>::named_buffers() const {
    Named<Tensor<T>> all = buffers_;
    for (const auto& [child_name, child] : children_)
        for (auto& [name, buffer] : child->named_buffers()) all.emplace_back(child_name + "." + name, buffer);
    return all;
}

template <class T>
std::vector<Tensor<T>> Module<T>::buffers() const {
    std::vector<Tensor<T>> all;
    for (auto& named : named_buffers()) all.push_back(named.second);
    return all;
}

template <class T>
std::set<std::string> Module<T>::integer_buffer_names() const {
    std::set<std::string> all = integer_buffers_;
    for (const auto& [child_name, child] : children_)
        for (const auto& name : child->integer_buffer_names()) all.insert(child_name + "." + name);
    return all;
}

namespace {
// The first value of `values` that is not a whole number, if any.
template <class Values>
const typename Values::value_type* first_fraction(const Values& values) {
    using T = typename Values::value_type;
    const auto bad = std::find_if(values.begin(), values.end(), [](T v) { return !(std::isfinite(v) && std::floor(v) == v); });
    return bad == values.end() ? nullptr : &*bad;
}
}  // namespace

template <class T>
void Module<T>::zero_grad() {
    for (auto& param : parameters()) param.zero_grad();
}

template <class T>
void Module<T>::train(bool on) {
    training_ = on;
    for (auto& child : children_) child.second->train(on);
}

template <class T>
StateDict<T> Module<T>::state_dict() const {
    StateDict<T> state;
    for (const auto& [name, param] : named_parameters()) state.emplace(name, param.data());
    for (const auto& [name, buffer] : named_buffers()) state.emplace(name, buffer.data());
    return state;
}

template <class T>
void Module<T>::check_state(const StateDict<T>& state) const {
    const auto params = named_parameters(), buffers = named_buffers();
    const std::set<std::string> integers = integer_buffer_names();
    const auto check = [&](const Named<Tensor<T>>& entries, const std::string& what) {
        for (const auto& [name, value] : entries) {
            auto found = state.find(name);
            if (found == state.end()) throw Error("missing " + what + " '" + name + "'");
            const Shape stored(found->second.shape().begin(), found->second.shape().end());
            if (stored != value.shape())
                throw Error(what + " '" + name + "' has shape " + shape_str(stored) + ", the module expects " +
                            shape_str(value.shape()));
            if (integers.count(name))
                if (const T* bad = first_fraction(found->second))
                    throw Error(what + " '" + name + "' counts in whole numbers, got " +
                                detail::option_value_text(double(*bad)));
        }
    };
    check(params, "parameter");
    check(buffers, "buffer");
    if (state.size() != params.size() + buffers.size())
        for (const auto& entry : state) {
            const auto named = [&](const auto& pair) { return pair.first == entry.first; };
            if (std::none_of(params.begin(), params.end(), named) && std::none_of(buffers.begin(), buffers.end(), named))
                throw Error("unexpected entry '" + entry.first + "' (the module has no parameter or buffer of that name)");
        }
}

template <class T>
void Module<T>::load_state(const StateDict<T>& state) {
    check_state(state);
    for (auto& [name, param] : named_parameters()) param.data_mut() = state.at(name);
    for (auto& [name, buffer] : named_buffers()) buffer.data_mut() = state.at(name);
}

template <class T>
void Module<T>::check_new_name(const std::string& name, const char* what) const {
    const std::string where = type_name() + "::register_" + what + ": ";
    if (name.empty()) throw Error(where + what + " name must not be empty");
    // A dot would make hierarchical names ("0.weight") ambiguous.
    if (name.find('.') != std::string::npos) throw Error(where + what + " name '" + name + "' must not contain '.'");
    for (const auto& param : params_)
        if (param.first == name) throw Error(where + "'" + name + "' is already a parameter of this " + type_name());
    for (const auto& buffer : buffers_)
        if (buffer.first == name) throw Error(where + "'" + name + "' is already a buffer of this " + type_name());
    for (const auto& child : children_)
        if (child.first == name) throw Error(where + "'" + name + "' is already a child module of this " + type_name());
}

template <class T>
Tensor<T> Module<T>::register_parameter(const std::string& name, Tensor<T> value) {
    check_new_name(name, "parameter");
    if (!value.defined()) throw Error(type_name() + "::register_parameter: parameter '" + name + "' is undefined");
    value.set_requires_grad(true);
    params_.emplace_back(name, value);
    return value;
}

template <class T>
Tensor<T> Module<T>::register_buffer(const std::string& name, Tensor<T> value, BufferKind kind) {
    check_new_name(name, "buffer");
    const std::string where = type_name() + "::register_buffer: buffer '" + name + "'";
    if (!value.defined()) throw Error(where + " is undefined");
    if (!value.is_leaf()) throw Error(where + " was made by " + value.op_name() + " (a buffer has no history; detach() it)");
    if (kind == BufferKind::Integer)
        if (const T* bad = first_fraction(value.data()))
            throw Error(where + " counts in whole numbers, got " + detail::option_value_text(double(*bad)));
    value.set_requires_grad(false);
    buffers_.emplace_back(name, value);
    if (kind == BufferKind::Integer) integer_buffers_.insert(name);
    return value;
}

template <class T>
void Module<T>::add_child(const std::string& name, Ptr child) {
    check_new_name(name, "module");
    if (!child) throw Error(type_name() + "::register_module: child '" + name + "' is null");
    children_.emplace_back(name, std::move(child));
}

template <class T>
std::string Module<T>::type_name() const {
    // The class's name as the compiler spells it, demangled
    // ("custom::ResidualBlock<float>"), then cut to "ResidualBlock".
    const char* mangled = typeid(*this).name();
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    std::string name = status == 0 && demangled ? demangled.get() : mangled;
    if (const auto angle = name.find('<'); angle != std::string::npos) name.erase(angle);
    if (const auto colons = name.rfind("::"); colons != std::string::npos) name.erase(0, colons + 2);
    return name;
}

template <class T>
std::pair<const Module<T>*, std::string> Module<T>::owner_of(const std::string& name, const char* what,
                                                           bool walk_last) const {
    const Module* module = this;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = name.find('.', start);
        if (dot == std::string::npos && !walk_last) break;
        const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const auto& children = module->children_;
        const auto child = std::find_if(children.begin(), children.end(), [&](const auto& c) { return c.first == part; });
        if (child == children.end())
            throw Error(type_name() + " has no " + what + " '" + name + "': " +
                        (start ? "'" + name.substr(0, start - 1) + "' (" + module->type_name() + ")" : type_name()) +
                        " has no child module '" + part + "'");
        module = child->second.get();
        if (dot == std::string::npos) return {module, ""};
        start = dot + 1;
    }
    return {module, name.substr(start)};
}

namespace {
// The entry `key` of `entries` (name, value pairs), or null.
template <class V>
const V* find_named(const std::vector<std::pair<std::string, V>>& entries, const std::string& key) {
    const auto found = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; });
    return found == entries.end() ? nullptr : &found->second;
}
}  // namespace

template <class T>
Tensor<T> Module<T>::named_tensor(const std::string& name, const char* what, Named<Tensor<T>> Module::*entries) const {
    const auto [owner, last] = owner_of(name, what, false);
    if (const Tensor<T>* found = find_named(owner->*entries, last)) return *found;
    throw Error(type_name() + " has no " + what + " '" + name + "'" +
                (owner == this ? "" : ": " + owner->type_name() + " '" + name.substr(0, name.size() - last.size() - 1) +
                                          "' has no " + what + " '" + last + "'"));
}

template <class T>
Tensor<T> Module<T>::named_parameter(const std::string& name) const { return named_tensor(name, "parameter", &Module::params_); }

template <class T>
Tensor<T> Module<T>::named_buffer(const std::string& name) const { return named_tensor(name, "buffer", &Module::buffers_); }

template <class T>
Module<T>& Module<T>::named_module(const std::string& name) {
    if (name.empty()) return *this;  // PyTorch's get_submodule(""): the module itself
    // Children are held as non-const Ptr: the walk only passes through const.
    return const_cast<Module&>(*owner_of(name, "module", /*walk_last=*/true).first);
}

template <class T>
std::size_t Module<T>::parameter_count(bool trainable_only) const {
    std::size_t count = 0;
    for (const Tensor<T>& p : parameters())
        if (!trainable_only || p.requires_grad()) count += p.size();
    return count;
}

template <class T>
void Module<T>::append_lines(std::string& out, const std::string& indent) const {
    out += type_name() + "(" + extra_repr();
    if (children_.empty()) {
        out += ")";
        return;
    }
    out += "\n";
    for (const auto& [name, child] : children_) {
        out += indent + "  (" + name + "): ";
        child->append_lines(out, indent + "  ");
        out += "\n";
    }
    out += indent + ")";
}

template <class T>
std::string Module<T>::to_string() const {
    std::string out;
    append_lines(out, "");
    return out;
}

template <class T>
std::ostream& operator<<(std::ostream& os, const Module<T>& module) {
    return os << module.to_string() << '\n';  // a line, as print(model) in PyTorch
}

template class Module<float>;
template class Module<double>;
template std::ostream& operator<<(std::ostream&, const Module<float>&);
template std::ostream& operator<<(std::ostream&, const Module<double>&);

}  // namespace tapegrad::nn
