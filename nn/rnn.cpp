// LSTM and GRU cells and sequences, composed of recorded ops: their gradients
// (and second derivatives) are those of the ops, nothing written by hand.
#include <tapegrad/nn/rnn.hpp>

#include <cmath>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad::nn {

namespace {

// x W^T (+ b): linear() puts the bias into the product's output.
template <class T>
Tensor<T> project(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b) {
    return b.defined() ? linear(x, w, b) : matmul(x, w, false, true);
}

// One LSTM step from gx = W_ih x + b_ih, (batch, 4 hidden), and state (h, c).
template <class T>
LSTMState<T> lstm_step(const Tensor<T>& gx, const LSTMState<T>& state, const Tensor<T>& w_hh, const Tensor<T>& b_hh) {
    const auto hidden = std::int64_t(w_hh.shape()[1]);
    const Tensor<T> gates = add(gx, project(state.h, w_hh, b_hh));
    // One sigmoid for i, f and o (and g's slice, unused): fewer ops on the
    // tape than three, which costs more than a quarter more exp's at these sizes.
    const Tensor<T> sig = sigmoid(gates);
    const Tensor<T> i = narrow(sig, 1, 0, hidden), f = narrow(sig, 1, hidden, hidden),
                    g = tanh(narrow(gates, 1, 2 * hidden, hidden)), o = narrow(sig, 1, 3 * hidden, hidden);
    const Tensor<T> c = add(mul(f, state.c), mul(i, g));
    return {mul(o, tanh(c)), c};
}

// One GRU step from gx = W_ih x + b_ih, (batch, 3 hidden), and h.
template <class T>
Tensor<T> gru_step(const Tensor<T>& gx, const Tensor<T>& h, const Tensor<T>& w_hh, const Tensor<T>& b_hh) {
    const auto hidden = std::int64_t(w_hh.shape()[1]);
    const Tensor<T> gh = project(h, w_hh, b_hh);  // b_hn stays inside r * (W_hn h + b_hn)
    const Tensor<T> rz = sigmoid(add(narrow(gx, 1, 0, 2 * hidden), narrow(gh, 1, 0, 2 * hidden)));
    const Tensor<T> r = narrow(rz, 1, 0, hidden), z = narrow(rz, 1, hidden, hidden);
    const Tensor<T> n = tanh(add(narrow(gx, 1, 2 * hidden, hidden), mul(r, narrow(gh, 1, 2 * hidden, hidden))));
    return add(n, mul(z, sub(h, n)));  // (1 - z) n + z h, one op fewer
}

// Parameter `index` of a module: U(-1/sqrt(hidden), 1/sqrt(hidden)) from derive_seed(seed, index).
template <class T>
Tensor<T> draw_parameter(const Shape& shape, std::size_t hidden, std::uint64_t seed, std::uint64_t index) {
    const T bound = T(1.0 / std::sqrt(double(hidden)));
    return Tensor<T>::uniform(shape, -bound, bound, derive_seed(seed, index));
}

std::string sizes_str(std::size_t input_size, std::size_t hidden_size) {
    return std::to_string(input_size) + ", " + std::to_string(hidden_size);
}

}  // namespace

// ---- cells ------------------------------------------------------------------

template <class T>
RNNCellBase<T>::RNNCellBase(const RNNCellOptions& options, std::size_t gates) : options_(options), gates_(gates) {
    if (!options_.seed()) options_.seed(draw_seed());
    const std::uint64_t seed = *options_.seed();
    const std::size_t in = options_.input_size(), hidden = options_.hidden_size(), rows = gates * hidden;
    weight_ih_ = this->register_parameter("weight_ih", draw_parameter<T>({rows, in}, hidden, seed, 0));
    weight_hh_ = this->register_parameter("weight_hh", draw_parameter<T>({rows, hidden}, hidden, seed, 1));
    if (options_.bias()) {
        bias_ih_ = this->register_parameter("bias_ih", draw_parameter<T>({rows}, hidden, seed, 2));
        bias_hh_ = this->register_parameter("bias_hh", draw_parameter<T>({rows}, hidden, seed, 3));
    }
}

template <class T>
std::string RNNCellBase<T>::name() const {
    return this->type_name() + "(" + sizes_str(options_.input_size(), options_.hidden_size()) + ")";
}

template <class T>
std::string RNNCellBase<T>::extra_repr() const {
    return sizes_str(options_.input_size(), options_.hidden_size()) + (options_.bias() ? "" : ", bias=false");
}

template <class T>
Tensor<T> RNNCellBase<T>::batched_input(const Tensor<T>& input) const {
    const std::size_t in = options_.input_size();
    if ((input.dim() != 1 && input.dim() != 2) || input.shape().back() != in)
        throw Error(name() + ": expects input of shape (batch, " + std::to_string(in) + ") or " + shape_str({in}) +
                    ", got " + shape_str(input.shape()));
    return input.dim() == 1 ? reshape(input, {1, in}) : input;
}

template <class T>
Tensor<T> RNNCellBase<T>::batched_state(const Tensor<T>& input, const Tensor<T>& state, const char* what) const {
    const std::size_t hidden = options_.hidden_size(), batch = input.dim() == 1 ? 1 : input.shape()[0];
    const Shape expected = input.dim() == 1 ? Shape{hidden} : Shape{batch, hidden};
    if (!state.defined()) return Tensor<T>::zeros({batch, hidden});
    if (state.shape() != expected)
        throw Error(name() + ": expects " + what + " of shape " + shape_str(expected) + " for input of shape " +
                    shape_str(input.shape()) + ", got " + shape_str(state.shape()));
    return input.dim() == 1 ? reshape(state, {1, hidden}) : state;
}

template <class T>
Tensor<T> RNNCellBase<T>::unbatched_like(const Tensor<T>& input, const Tensor<T>& h) const {
    return input.dim() == 1 ? reshape(h, {options_.hidden_size()}) : h;
}

template <class T>
LSTMState<T> LSTMCell<T>::forward(const Tensor<T>& input, const LSTMState<T>& state) {
    const Tensor<T> x = this->batched_input(input);
    if (state.h.defined() != state.c.defined())
        throw Error("LSTMCell(" + sizes_str(this->options_.input_size(), this->options_.hidden_size()) +
                    "): h and c are given both or neither, got only " + (state.h.defined() ? "h" : "c"));
    const LSTMState<T> next = lstm_step(project(x, this->weight_ih_, this->bias_ih_),
                                        {this->batched_state(input, state.h, "h"), this->batched_state(input, state.c, "c")},
                                        this->weight_hh_, this->bias_hh_);
    return {this->unbatched_like(input, next.h), this->unbatched_like(input, next.c)};
}

template <class T>
Tensor<T> GRUCell<T>::forward(const Tensor<T>& input, const Tensor<T>& h) {
    const Tensor<T> x = this->batched_input(input);
    return this->unbatched_like(input, gru_step(project(x, this->weight_ih_, this->bias_ih_),
                                                this->batched_state(input, h, "h"), this->weight_hh_, this->bias_hh_));
}

// ---- sequences --------------------------------------------------------------

template <class T>
RNNBase<T>::RNNBase(const RNNOptions& options, std::size_t gates) : options_(options), gates_(gates) {
    if (!options_.seed()) options_.seed(draw_seed());
    const std::uint64_t seed = *options_.seed();
    const std::size_t hidden = options_.hidden_size(), rows = gates * hidden, directions = num_directions();
    std::uint64_t index = 0;  // registration order, PyTorch's: layer, direction, then w_ih w_hh b_ih b_hh
    for (std::size_t k = 0; k < options_.num_layers(); ++k)
        for (std::size_t d = 0; d < directions; ++d) {
            const std::size_t in = k == 0 ? options_.input_size() : directions * hidden;
            const std::string suffix = "_l" + std::to_string(k) + (d ? "_reverse" : "");
            const auto parameter = [&](const std::string& name, const Shape& shape) {
                return this->register_parameter(name + suffix, draw_parameter<T>(shape, hidden, seed, index++));
            };
            Layer layer;
            layer.weight_ih = parameter("weight_ih", {rows, in});
            layer.weight_hh = parameter("weight_hh", {rows, hidden});
            if (options_.bias()) {
                layer.bias_ih = parameter("bias_ih", {rows});
                layer.bias_hh = parameter("bias_hh", {rows});
            }
            layers_.push_back(layer);
        }
}

template <class T>
std::string RNNBase<T>::name() const {
    const std::string extra = extra_repr();
    return this->type_name() + "(" + extra + ")";
}

template <class T>
std::string RNNBase<T>::extra_repr() const {
    std::string text = sizes_str(options_.input_size(), options_.hidden_size());
    if (options_.num_layers() != 1) text += ", num_layers=" + std::to_string(options_.num_layers());
    if (!options_.bias()) text += ", bias=false";
    if (options_.batch_first()) text += ", batch_first=true";
    if (options_.dropout() != 0) text += ", dropout=" + detail::option_value_text(options_.dropout());
    if (options_.bidirectional()) text += ", bidirectional=true";
    return text;
}

template <class T>
Tensor<T> RNNBase<T>::initial_state(const Tensor<T>& given, const char* what, bool unbatched, std::size_t batch) const {
    const std::size_t states = options_.num_layers() * num_directions(), hidden = options_.hidden_size();
    if (!given.defined()) return Tensor<T>();
    const Shape expected = unbatched ? Shape{states, hidden} : Shape{states, batch, hidden};
    if (given.shape() != expected)
        throw Error(name() + ": expects " + what + " of shape " + shape_str(expected) + ", got " + shape_str(given.shape()));
    return unbatched ? reshape(given, {states, 1, hidden}) : given;
}

template <class T>
LSTMOutput<T> RNNBase<T>::run(const Tensor<T>& input, const Tensor<T>& h0_given, const Tensor<T>& c0_given) {
    const bool lstm = gates_ == 4;
    const std::size_t in = options_.input_size(), hidden = options_.hidden_size(), directions = num_directions();
    const Shape shape = input.shape();
    if ((shape.size() != 2 && shape.size() != 3) || shape.back() != in)
        throw Error(name() + ": expects input of shape " + (options_.batch_first() ? "(batch, seq, " : "(seq, batch, ") +
                    std::to_string(in) + ") or (seq, " + std::to_string(in) + "), got " + shape_str(shape));
    const bool unbatched = shape.size() == 2, batch_first = options_.batch_first() && !unbatched;
    const std::size_t steps = shape[batch_first ? 1 : 0], batch = unbatched ? 1 : shape[batch_first ? 0 : 1];
    if (steps == 0) throw Error(name() + ": the sequence of input " + shape_str(shape) + " is empty");
    const Tensor<T> h0 = initial_state(h0_given, "h0", unbatched, batch), c0 = initial_state(c0_given, "c0", unbatched, batch);
    // State j of h0 as (batch, hidden), or zeros.
    const auto initial = [&](const Tensor<T>& all, std::size_t j) {
        return all.defined() ? reshape(narrow(all, 0, std::int64_t(j), 1), {batch, hidden})
                             : Tensor<T>::zeros({batch, hidden});
    };
    const int time_axis = batch_first ? 1 : 0;
    const auto width = std::int64_t(gates_ * hidden);
    Tensor<T> x = unbatched ? reshape(input, {steps, 1, in}) : input;
    TensorList<T> h_n, c_n;
    for (std::size_t k = 0; k < options_.num_layers(); ++k) {
        // The input projection of all steps at once: (steps * batch, features)
        // rows in x's order, whichever axis is time.
        const Tensor<T> rows = reshape(x, {steps * batch, x.shape()[2]});
        TensorList<T> outputs;
        for (std::size_t d = 0; d < directions; ++d) {
            const Layer& layer = layers_[k * directions + d];
            Tensor<T> gx = project(rows, layer.weight_ih, layer.bias_ih);
            if (batch_first) gx = reshape(gx, {batch, steps, std::size_t(width)});
            LSTMState<T> state{initial(h0, k * directions + d), lstm ? initial(c0, k * directions + d) : Tensor<T>()};
            TensorList<T> hs(steps);
            for (std::size_t i = 0; i < steps; ++i) {
                const std::size_t t = d == 0 ? i : steps - 1 - i;  // the reverse direction starts at the end
                const Tensor<T> gx_t = batch_first ? reshape(narrow(gx, 1, std::int64_t(t), 1), {batch, std::size_t(width)})
                                                   : narrow(gx, 0, std::int64_t(t * batch), std::int64_t(batch));
                if (lstm)
                    state = lstm_step(gx_t, state, layer.weight_hh, layer.bias_hh);
                else
                    state.h = gru_step(gx_t, state.h, layer.weight_hh, layer.bias_hh);
                hs[t] = state.h;
            }
            outputs.push_back(stack(hs, time_axis));
            h_n.push_back(state.h);
            if (lstm) c_n.push_back(state.c);
        }
        x = directions == 1 ? outputs[0] : concat(outputs, 2);
        // Between layers only, in training only, as PyTorch.
        if (k + 1 < options_.num_layers() && this->is_training() && options_.dropout() > 0)
            x = dropout(x, options_.dropout(), true, draw_seed());
    }
    const std::size_t states = h_n.size();
    const auto final_states = [&](const TensorList<T>& all) {
        const Tensor<T> stacked = stack(all, 0);
        return unbatched ? reshape(stacked, {states, hidden}) : stacked;
    };
    LSTMOutput<T> out;
    out.output = unbatched ? reshape(x, {steps, directions * hidden}) : x;
    out.state.h = final_states(h_n);
    if (lstm) out.state.c = final_states(c_n);
    return out;
}

template <class T>
LSTMOutput<T> LSTM<T>::forward(const Tensor<T>& input, const LSTMState<T>& state) {
    if (state.h.defined() != state.c.defined())
        throw Error("LSTM(" + this->extra_repr() + "): h0 and c0 are given both or neither, got only " +
                    (state.h.defined() ? "h0" : "c0"));
    return this->run(input, state.h, state.c);
}

template <class T>
GRUOutput<T> GRU<T>::forward(const Tensor<T>& input, const Tensor<T>& h0) {
    LSTMOutput<T> out = this->run(input, h0, Tensor<T>());
    return {out.output, out.state.h};
}

template class RNNCellBase<float>;
template class RNNCellBase<double>;
template class LSTMCell<float>;
template class LSTMCell<double>;
template class GRUCell<float>;
template class GRUCell<double>;
template class RNNBase<float>;
template class RNNBase<double>;
template class LSTM<float>;
template class LSTM<double>;
template class GRU<float>;
template class GRU<double>;

}  // namespace tapegrad::nn
