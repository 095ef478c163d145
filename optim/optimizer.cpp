#include <tapegrad/optim/optimizer.hpp>

#include <cctype>
#include <cmath>

#include <tapegrad/autograd/options.hpp>

namespace tapegrad::optim {

namespace {
// Splits "<index>.<name>"; throws on anything else.
std::pair<std::size_t, std::string> split_key(const std::string& key, std::size_t param_count) {
    const std::size_t dot = key.find('.');
    std::size_t index = 0, digits = 0;
    for (; digits < dot && digits < key.size() && std::isdigit(static_cast<unsigned char>(key[digits])); ++digits)
        index = index * 10 + std::size_t(key[digits] - '0');
    if (dot == std::string::npos || digits == 0 || digits != dot || digits > 9)
        throw Error("optimizer state: malformed key '" + key + "'");
    if (index >= param_count)
        throw Error("optimizer state: key '" + key + "' names parameter " + std::to_string(index) +
                    ", the optimizer has " + std::to_string(param_count));
    return {index, key.substr(dot + 1)};
}
}  // namespace

template <class T>
Optimizer<T>::Optimizer(std::vector<Tensor<T>> params) : params_(std::move(params)) {
    if (params_.empty()) throw Error("optimizer: got an empty parameter list");
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (!params_[i].defined()) throw Error("optimizer: parameter " + std::to_string(i) + " is undefined");
        // The same tensor twice would be stepped twice per step(), silently.
        for (std::size_t j = 0; j < i; ++j)
            if (params_[i].same_as(params_[j]))
                throw Error("optimizer: parameters " + std::to_string(j) + " and " + std::to_string(i) +
                            " are the same tensor");
    }
}

template <class T>
void Optimizer<T>::zero_grad() {
    for (auto& param : params_) param.zero_grad();
}

template <class T>
void Optimizer<T>::set_momentum(double) {
    throw Error("optimizer: this optimizer has no momentum to set");
}

template <class T>
void Optimizer<T>::set_initial_lr(double lr) {
    if (!allowed::non_negative_finite(lr))
        throw Error("optimizer: initial_lr must be finite and >= 0, got " + detail::option_value_text(lr));
    initial_lr_ = lr;
}

template <class T>
OptimizerState<T> Optimizer<T>::state() const {
    OptimizerState<T> state;
    state.scalars["lr"] = lr();
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const std::string prefix = std::to_string(i) + ".";
        SavedParam saved = save_param(i);
        if (saved.step) state.scalars[prefix + "step"] = double(saved.step);
        for (auto& [name, buffer] : saved.buffers) state.buffers[prefix + name] = std::move(buffer);
    }
    return state;
}

template <class T>
void Optimizer<T>::check_state(const OptimizerState<T>& state) const {
    for (const auto& [key, value] : state.scalars) {
        if (key == "lr") {
            if (!allowed::non_negative_finite(value)) throw Error("optimizer state: bad lr " + std::to_string(value));
            continue;
        }
        auto [index, name] = split_key(key, params_.size());
        if (name != "step" || !allowed::exact_count(value))
            throw Error("optimizer state: unexpected scalar '" + key + "' = " + std::to_string(value));
    }
    for (const auto& [key, buffer] : state.buffers) {
        auto [index, name] = split_key(key, params_.size());
        if (!knows_buffer(name)) throw Error("optimizer state: unexpected buffer '" + key + "'");
        const Shape shape(buffer.shape().begin(), buffer.shape().end());
        if (shape != params_[index].shape())
            throw Error("optimizer state: buffer '" + key + "' has shape " + shape_str(shape) + ", parameter " +
                        std::to_string(index) + " has shape " + shape_str(params_[index].shape()));
    }
}

template <class T>
void Optimizer<T>::load_state(const OptimizerState<T>& state) {
    check_state(state);
    std::vector<SavedParam> saved(params_.size());
    double lr = this->lr();
    for (const auto& [key, value] : state.scalars) {
        if (key == "lr") {
            lr = value;
            continue;
        }
        saved[split_key(key, params_.size()).first].step = std::int64_t(value);
    }
    for (const auto& [key, buffer] : state.buffers) {
        auto [index, name] = split_key(key, params_.size());
        saved[index].buffers[name] = buffer;
    }
    load_params(std::move(saved));
    set_lr(lr);  // cannot throw: check_state accepted it, by the options' own rule
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad::optim
