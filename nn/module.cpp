#include <tapegrad/nn/module.hpp>

#include <ostream>

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
    return state;
}

template <class T>
void Module<T>::check_state(const StateDict<T>& state) const {
    const auto params = named_parameters();
    for (const auto& [name, param] : params) {
        auto found = state.find(name);
        if (found == state.end()) throw Error("missing parameter '" + name + "'");
        const Shape stored(found->second.shape().begin(), found->second.shape().end());
        if (stored != param.shape())
            throw Error("parameter '" + name + "' has shape " + shape_str(stored) + ", the module expects " +
                        shape_str(param.shape()));
    }
    if (state.size() != params.size())
        for (const auto& entry : state) {
            bool known = false;
            for (const auto& named : params) known = known || named.first == entry.first;
            if (!known) throw Error("unexpected parameter '" + entry.first + "' (the module has no such parameter)");
        }
}

template <class T>
void Module<T>::load_state(const StateDict<T>& state) {
    check_state(state);
    for (auto& [name, param] : named_parameters()) param.data_mut() = state.at(name);
}

template <class T>
void Module<T>::check_new_name(const std::string& name, const char* what) const {
    const std::string where = type_name() + "::register_" + what + ": ";
    if (name.empty()) throw Error(where + what + " name must not be empty");
    // A dot would make hierarchical names ("0.weight") ambiguous.
    if (name.find('.') != std::string::npos) throw Error(where + what + " name '" + name + "' must not contain '.'");
    for (const auto& param : params_)
        if (param.first == name) throw Error(where + "'" + name + "' is already a parameter of this " + type_name());
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
void Module<T>::register_module(const std::string& name, Ptr child) {
    check_new_name(name, "module");
    if (!child) throw Error(type_name() + "::register_module: child '" + name + "' is null");
    children_.emplace_back(name, std::move(child));
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
    return os << module.to_string();
}

template class Module<float>;
template class Module<double>;
template std::ostream& operator<<(std::ostream&, const Module<float>&);
template std::ostream& operator<<(std::ostream&, const Module<double>&);

}  // namespace tapegrad::nn
