/// \file
/// Recurrent layers, as torch.nn's: LSTMCell and GRUCell (one time step),
/// LSTM and GRU (whole sequences, several layers, either direction).
///
/// PyTorch's equations, gate order and parameter names and layouts, so a
/// state dict moves both ways through .npz (nn/serialize.hpp). With
/// W_i* the rows of weight_ih for a gate and W_h* those of weight_hh:
///
///     LSTM (gates i, f, g, o):  i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)
///                               f = sigmoid(W_if x + b_if + W_hf h + b_hf)
///                               g = tanh(W_ig x + b_ig + W_hg h + b_hg)
///                               o = sigmoid(W_io x + b_io + W_ho h + b_ho)
///                               c' = f * c + i * g,  h' = o * tanh(c')
///     GRU (gates r, z, n):      r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
///                               z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///                               n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///                               h' = (1 - z) * n + z * h
///
/// Every parameter starts U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as
/// PyTorch's, parameter j (in registration order) drawn from
/// derive_seed(seed, j). Built from recorded ops (linear, sigmoid, tanh,
/// narrow, stack, mul, add), so gradients reach inputs, initial states and
/// parameters. A sequence's input projection W_ih x is one matrix product over
/// all time steps; each step adds only the recurrent product W_hh h.
/// LSTM's proj_size is not supported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// RNNOptions(input_size, hidden_size).num_layers(2).batch_first(true).dropout(0.1):
/// PyTorch's arguments of LSTM and GRU, with their defaults. Each setter
/// throws tapegrad::Error naming the option and the value when it is out of range.
class RNNOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "RNNOptions";
    /// The two required sizes, checked by their setters.
    RNNOptions(std::size_t input_size, std::size_t hidden_size) {
        this->input_size(input_size);
        this->hidden_size(hidden_size);
    }
    /// Features of each input step (> 0).
    TAPEGRAD_OPTION(std::size_t, input_size, value > 0, "> 0");
    /// Features of the hidden state (> 0).
    TAPEGRAD_OPTION(std::size_t, hidden_size, value > 0, "> 0");
    /// Layers stacked, each taking the previous one's output sequence (> 0; default 1).
    TAPEGRAD_OPTION(std::size_t, num_layers, value > 0, "> 0") = 1;
    /// Whether the layers have biases bias_ih and bias_hh; default true.
    TAPEGRAD_OPTION_ANY(bool, bias) = true;
    /// Input and output (batch, seq, features) instead of (seq, batch,
    /// features); default false, as PyTorch. States are (layers, batch,
    /// hidden) either way.
    TAPEGRAD_OPTION_ANY(bool, batch_first) = false;
    /// Dropout on every layer's output but the last, in training only (as
    /// PyTorch's), in [0, 1]; default 0.
    TAPEGRAD_OPTION(double, dropout, value >= 0 && value <= 1, "in [0, 1]") = 0;
    /// Whether each layer also runs the sequence backwards (parameters with the
    /// suffix "_reverse"), its outputs concatenated after the forward ones;
    /// default false.
    TAPEGRAD_OPTION_ANY(bool, bidirectional) = false;
    /// Parameter j (in registration order) draws from derive_seed(seed, j).
    /// Unset by default: the module then draws one (tapegrad::draw_seed()).
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// RNNCellOptions(input_size, hidden_size).bias(false).seed(3): the arguments
/// of LSTMCell and GRUCell. Setters check their values as RNNOptions's.
class RNNCellOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "RNNCellOptions";
    /// The two required sizes, checked by their setters.
    RNNCellOptions(std::size_t input_size, std::size_t hidden_size) {
        this->input_size(input_size);
        this->hidden_size(hidden_size);
    }
    /// Features of the input (> 0).
    TAPEGRAD_OPTION(std::size_t, input_size, value > 0, "> 0");
    /// Features of the hidden state (> 0).
    TAPEGRAD_OPTION(std::size_t, hidden_size, value > 0, "> 0");
    /// Whether the cell has biases bias_ih and bias_hh; default true.
    TAPEGRAD_OPTION_ANY(bool, bias) = true;
    /// Parameter j (in registration order) draws from derive_seed(seed, j).
    /// Unset by default: the cell then draws one.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// An LSTM's state: hidden h and cell c, of one shape. An undefined tensor
/// (the default) as an initial state means zeros, as PyTorch's hx=None.
template <class T>
struct LSTMState {
    Tensor<T> h;  ///< hidden state
    Tensor<T> c;  ///< cell state
};

/// What LSTM gives for a sequence (PyTorch's `output, (h_n, c_n)`).
template <class T>
struct LSTMOutput {
    /// The last layer's h at every step: (seq, batch, D * hidden), or (batch,
    /// seq, D * hidden) with batch_first; D = 2 when bidirectional (forward
    /// then reverse features), else 1.
    Tensor<T> output;
    /// Every layer's final h and c, (num_layers * D, batch, hidden), layer by
    /// layer, forward direction first.
    LSTMState<T> state;
};

/// What GRU gives for a sequence (PyTorch's `output, h_n`); shapes as LSTMOutput's.
template <class T>
struct GRUOutput {
    Tensor<T> output;  ///< the last layer's h at every step
    Tensor<T> h;       ///< every layer's final h, (num_layers * D, batch, hidden)
};

/// What LSTMCell and GRUCell share, as torch.nn.RNNCellBase: parameters
/// "weight_ih" (gates * hidden, input), "weight_hh" (gates * hidden, hidden)
/// and, with bias, "bias_ih" and "bias_hh" (gates * hidden), gates being 4
/// (LSTM) or 3 (GRU).
template <class T>
class RNNCellBase : public Module<T> {
public:
    /// The input-to-hidden weight, (gates * hidden_size, input_size): a handle.
    Tensor<T> weight_ih() const { return weight_ih_; }
    /// The hidden-to-hidden weight, (gates * hidden_size, hidden_size): a handle.
    Tensor<T> weight_hh() const { return weight_hh_; }
    /// The input bias (gates * hidden_size); undefined without bias.
    Tensor<T> bias_ih() const { return bias_ih_; }
    /// The hidden bias (gates * hidden_size); undefined without bias.
    Tensor<T> bias_hh() const { return bias_hh_; }
    /// The options it was built with, the seed filled in when it was drawn.
    const RNNCellOptions& options() const { return options_; }

protected:
    /// Registers and draws the parameters for `gates` gates: 4 for an
    /// LSTMCell, 3 for a GRUCell.
    RNNCellBase(const RNNCellOptions& options, std::size_t gates);
    /// "LSTMCell" or "GRUCell", by the number of gates (here, not in the
    /// subclasses: registering a parameter calls it, before they exist).
    std::string type_name() const override { return gates_ == 4 ? "LSTMCell" : "GRUCell"; }
    /// "3, 4" and ", bias=false" without bias.
    std::string extra_repr() const override;
    /// `input`, (batch, input_size) or unbatched (input_size), as (batch,
    /// input_size). Throws tapegrad::Error naming the cell and the shapes for
    /// any other shape.
    Tensor<T> batched_input(const Tensor<T>& input) const;
    /// `state` ("h" or "c" in errors) as (batch, hidden), zeros when
    /// undefined. Throws tapegrad::Error naming the cell and the shapes unless
    /// it is (batch, hidden), or (hidden) for an unbatched input.
    Tensor<T> batched_state(const Tensor<T>& input, const Tensor<T>& state, const char* what) const;
    /// `h` back in the input's layout: (hidden) for an unbatched input.
    Tensor<T> unbatched_like(const Tensor<T>& input, const Tensor<T>& h) const;

    RNNCellOptions options_;  ///< as built, seed drawn
    Tensor<T> weight_ih_;     ///< "weight_ih"
    Tensor<T> weight_hh_;     ///< "weight_hh"
    Tensor<T> bias_ih_;       ///< "bias_ih", undefined without bias
    Tensor<T> bias_hh_;       ///< "bias_hh", undefined without bias

private:
    std::string name() const;  // "LSTMCell(3, 4)", for errors
    std::size_t gates_;
};

/// One LSTM step, as torch.nn.LSTMCell (equations in this file's comment).
/// Input (batch, input_size) or unbatched (input_size); h and c (batch,
/// hidden_size) or (hidden_size).
template <class T>
class LSTMCell : public RNNCellBase<T> {
public:
    /// Draws the parameters (gates i, f, g, o) from options.seed() or a drawn seed.
    explicit LSTMCell(const RNNCellOptions& options) : RNNCellBase<T>(options, 4) {}
    /// LSTMCell(RNNCellOptions(input_size, hidden_size)).
    LSTMCell(std::size_t input_size, std::size_t hidden_size) : LSTMCell(RNNCellOptions(input_size, hidden_size)) {}

    /// The next (h, c) from `input` and `state` (undefined h and c: zeros; h
    /// and c are given both or neither). Throws tapegrad::Error naming the
    /// cell and the shapes for an input or state it cannot take.
    LSTMState<T> forward(const Tensor<T>& input, const LSTMState<T>& state);
    /// The next h from zero state, so that a cell can sit in a Sequential.
    Tensor<T> forward(const Tensor<T>& input) override { return forward(input, LSTMState<T>{}).h; }
    using Module<T>::operator();
    /// forward(input, state).
    LSTMState<T> operator()(const Tensor<T>& input, const LSTMState<T>& state) { return forward(input, state); }

};

/// One GRU step, as torch.nn.GRUCell (equations in this file's comment).
/// Input (batch, input_size) or unbatched (input_size); h (batch,
/// hidden_size) or (hidden_size).
template <class T>
class GRUCell : public RNNCellBase<T> {
public:
    /// Draws the parameters (gates r, z, n) from options.seed() or a drawn seed.
    explicit GRUCell(const RNNCellOptions& options) : RNNCellBase<T>(options, 3) {}
    /// GRUCell(RNNCellOptions(input_size, hidden_size)).
    GRUCell(std::size_t input_size, std::size_t hidden_size) : GRUCell(RNNCellOptions(input_size, hidden_size)) {}

    /// The next h from `input` and `h` (undefined: zeros). Throws
    /// tapegrad::Error naming the cell and the shapes for an input or state it
    /// cannot take.
    Tensor<T> forward(const Tensor<T>& input, const Tensor<T>& h);
    /// The next h from zero state.
    Tensor<T> forward(const Tensor<T>& input) override { return forward(input, Tensor<T>()); }
    using Module<T>::operator();
    /// forward(input, h).
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& h) { return forward(input, h); }

};

/// What LSTM and GRU share, as torch.nn.RNNBase: for layer k and direction
/// suffix s ("" and, when bidirectional, "_reverse"), parameters
/// "weight_ih_l{k}{s}" (gates * hidden, in_k), "weight_hh_l{k}{s}" (gates *
/// hidden, hidden) and, with bias, "bias_ih_l{k}{s}" and "bias_hh_l{k}{s}"
/// (gates * hidden), in PyTorch's order (layer, direction, then those four);
/// in_0 = input_size, in_k = D * hidden_size after.
///
/// Input (seq, batch, input_size), (batch, seq, input_size) with batch_first,
/// or unbatched (seq, input_size) (then states are (num_layers * D, hidden)
/// and the output (seq, D * hidden)). The sequence must not be empty; a batch
/// of 0 is fine.
template <class T>
class RNNBase : public Module<T> {
public:
    /// The options it was built with, the seed filled in when it was drawn.
    const RNNOptions& options() const { return options_; }
    /// 2 when bidirectional, else 1.
    std::size_t num_directions() const { return options_.bidirectional() ? 2 : 1; }

protected:
    /// Registers and draws the parameters for `gates` gates per layer: 4 for
    /// an LSTM (which also has a cell state), 3 for a GRU.
    RNNBase(const RNNOptions& options, std::size_t gates);
    /// "LSTM" or "GRU", by the number of gates (here, not in the subclasses:
    /// registering a parameter calls it, before they exist).
    std::string type_name() const override { return gates_ == 4 ? "LSTM" : "GRU"; }
    /// "3, 4", then the options that differ from PyTorch's defaults, as PyTorch prints them.
    std::string extra_repr() const override;

    /// The whole sequence through every layer and direction from initial
    /// states h0 and c0 (undefined: zeros; c0 only for an LSTM), checked
    /// against the input. Returns the output and the final states, c_n
    /// undefined for a GRU. Throws tapegrad::Error naming the module and the
    /// shapes.
    LSTMOutput<T> run(const Tensor<T>& input, const Tensor<T>& h0, const Tensor<T>& c0);

private:
    struct Layer {  // one layer in one direction
        Tensor<T> weight_ih, weight_hh, bias_ih, bias_hh;
    };
    std::string name() const;  // "LSTM(3, 4, num_layers=2)", for errors
    Tensor<T> initial_state(const Tensor<T>& given, const char* what, bool unbatched, std::size_t batch) const;

    RNNOptions options_;
    std::size_t gates_;
    std::vector<Layer> layers_;  // layer k, direction d at k * D + d
};

/// A multi-layer LSTM over whole sequences, as torch.nn.LSTM: parameters,
/// shapes and options as RNNBase says; gates i, f, g, o.
template <class T>
class LSTM : public RNNBase<T> {
public:
    /// Draws the parameters from options.seed() or a drawn seed.
    explicit LSTM(const RNNOptions& options) : RNNBase<T>(options, 4) {}
    /// LSTM(RNNOptions(input_size, hidden_size)).
    LSTM(std::size_t input_size, std::size_t hidden_size) : LSTM(RNNOptions(input_size, hidden_size)) {}

    /// The output sequence and the final (h, c) from initial `state` ((h0,
    /// c0), each (num_layers * D, batch, hidden); undefined: zeros; both or
    /// neither). Throws tapegrad::Error naming the module and the shapes for
    /// an input or state it cannot take.
    LSTMOutput<T> forward(const Tensor<T>& input, const LSTMState<T>& state);
    /// The output sequence alone, from zero states, so that an LSTM can sit in
    /// a Sequential; forward(input, {}) also gives the final states.
    Tensor<T> forward(const Tensor<T>& input) override { return forward(input, LSTMState<T>{}).output; }
    using Module<T>::operator();
    /// forward(input, state).
    LSTMOutput<T> operator()(const Tensor<T>& input, const LSTMState<T>& state) { return forward(input, state); }

};

/// A multi-layer GRU over whole sequences, as torch.nn.GRU: parameters,
/// shapes and options as RNNBase says; gates r, z, n.
template <class T>
class GRU : public RNNBase<T> {
public:
    /// Draws the parameters from options.seed() or a drawn seed.
    explicit GRU(const RNNOptions& options) : RNNBase<T>(options, 3) {}
    /// GRU(RNNOptions(input_size, hidden_size)).
    GRU(std::size_t input_size, std::size_t hidden_size) : GRU(RNNOptions(input_size, hidden_size)) {}

    /// The output sequence and the final h from initial `h0` ((num_layers *
    /// D, batch, hidden); undefined: zeros). Throws tapegrad::Error naming the
    /// module and the shapes for an input or state it cannot take.
    GRUOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0);
    /// The output sequence alone, from zero states, so that a GRU can sit in
    /// a Sequential; forward(input, {}) also gives the final state.
    Tensor<T> forward(const Tensor<T>& input) override { return forward(input, Tensor<T>()).output; }
    using Module<T>::operator();
    /// forward(input, h0).
    GRUOutput<T> operator()(const Tensor<T>& input, const Tensor<T>& h0) { return forward(input, h0); }

};

extern template class RNNCellBase<float>;
extern template class RNNCellBase<double>;
extern template class LSTMCell<float>;
extern template class LSTMCell<double>;
extern template class GRUCell<float>;
extern template class GRUCell<double>;
extern template class RNNBase<float>;
extern template class RNNBase<double>;
extern template class LSTM<float>;
extern template class LSTM<double>;
extern template class GRU<float>;
extern template class GRU<double>;

}  // namespace tapegrad::nn
