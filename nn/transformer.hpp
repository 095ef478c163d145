/// \file
/// TransformerEncoderLayer: self-attention and a feed-forward network, each
/// in a residual branch with layer normalisation, as
/// torch.nn.TransformerEncoderLayer; norm_first(true) makes it the pre-LN
/// block of GPT-2 and makemore.
#pragma once

#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>

namespace tapegrad::nn {

/// The feed-forward network's activation in a TransformerEncoderLayer:
/// torch's activation="relu" or "gelu" (the exact, erf form).
enum class TransformerActivation { ReLU, GELU };

/// TransformerEncoderLayerOptions(64, 4).dim_feedforward(256).norm_first(true):
/// torch's arguments and defaults.
class TransformerEncoderLayerOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "TransformerEncoderLayerOptions";
    /// d_model must divide into nhead heads; throws tapegrad::Error otherwise.
    TransformerEncoderLayerOptions(std::size_t d_model, std::size_t nhead);
    /// Features of each position (> 0).
    TAPEGRAD_OPTION(std::size_t, d_model, value > 0, "> 0");
    /// Attention heads (> 0).
    TAPEGRAD_OPTION(std::size_t, nhead, value > 0, "> 0");
    /// Width of the feed-forward network's hidden layer (> 0; default 2048).
    TAPEGRAD_OPTION(std::size_t, dim_feedforward, value > 0, "> 0") = 2048;
    /// Dropout in attention, after each branch and inside the feed-forward
    /// network, in training (default 0.1).
    TAPEGRAD_OPTION(double, dropout, value >= 0 && value <= 1, "in [0, 1]") = 0.1;
    /// The feed-forward network's activation (default ReLU).
    TAPEGRAD_OPTION_ANY(TransformerActivation, activation) = TransformerActivation::ReLU;
    /// The layer norms' eps (finite, >= 0; default 1e-5).
    TAPEGRAD_OPTION(double, layer_norm_eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-5;
    /// Inputs (batch, sequence, features) when true, (sequence, batch,
    /// features) when false (torch's default).
    TAPEGRAD_OPTION_ANY(bool, batch_first) = false;
    /// Pre-LN when true: x + attention(norm1(x)), then + ff(norm2(x)).
    /// Post-LN (torch's default) when false: norm1(x + attention(x)), then
    /// norm2(x + ff(x)).
    TAPEGRAD_OPTION_ANY(bool, norm_first) = false;
    /// Each sublayer's seed derives from it; unset: drawn when built.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// torch.nn.TransformerEncoderLayer, its children named as torch's:
/// "self_attn" (MultiheadAttention), "linear1", "dropout", "linear2",
/// "norm1", "norm2", "dropout1", "dropout2"; so its state dict moves to and
/// from torch unchanged.
template <class T>
class TransformerEncoderLayer : public Module<T> {
public:
    /// Builds the sublayers as options say.
    explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& options);

    /// encode(input) without masks.
    Tensor<T> forward(const Tensor<T>& input) override;
    /// The layer's output for `src`, (S, N, E) or (N, S, E) with batch_first:
    /// `src_mask` (S, S) and `src_key_padding_mask` (N, S) as
    /// MultiheadAttention's attn_mask and key_padding_mask (1 = may not
    /// attend, is padding), `is_causal` adds the causal mask.
    Tensor<T> encode(const Tensor<T>& src, const Tensor<T>& src_mask = Tensor<T>(),
                     const Tensor<T>& src_key_padding_mask = Tensor<T>(), bool is_causal = false);

    /// The options it was built with, the seed filled in when it was drawn.
    const TransformerEncoderLayerOptions& options() const { return options_; }

protected:
    /// "TransformerEncoderLayer".
    std::string type_name() const override { return "TransformerEncoderLayer"; }

private:
    TransformerEncoderLayerOptions options_;
    std::shared_ptr<MultiheadAttention<T>> self_attn_;
    std::shared_ptr<Linear<T>> linear1_, linear2_;
    std::shared_ptr<Dropout<T>> dropout_, dropout1_, dropout2_;
    std::shared_ptr<LayerNorm<T>> norm1_, norm2_;
};

extern template class TransformerEncoderLayer<float>;
extern template class TransformerEncoderLayer<double>;

}  // namespace tapegrad::nn
