/// \file
/// Attention, as PyTorch computes it: the functional
/// scaled_dot_product_attention and the MultiheadAttention module, with
/// causal and padding masks.
///
/// Masks are Tensors of 0s and 1s (tapegrad's boolean masks, as `where` and
/// the comparisons use) that take no gradient. Their meaning follows PyTorch
/// function by function, and PyTorch itself is not uniform here:
/// - scaled_dot_product_attention's `attn_mask`: 1 = may attend (PyTorch 2's
///   boolean attn_mask);
/// - MultiheadAttention's `attn_mask` and `key_padding_mask`: 1 = may NOT
///   attend, is padding (torch.nn.MultiheadAttention's boolean masks).
/// A query that may attend to no key gets NaN, as softmax over nothing but
/// -inf gives in PyTorch.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// softmax(query key^T * scale + mask) value, as
/// torch.nn.functional.scaled_dot_product_attention: query (..., L, E), key
/// (..., S, E), value (..., S, Ev) with batch axes that broadcast; gives
/// (..., L, Ev). `attn_mask`, unless undefined, is a 0/1 mask broadcasting
/// to (..., L, S), 1 where a query may attend to a key; `is_causal` lets
/// query i attend to keys 0..i only (torch's top-left aligned tril of (L,
/// S)); as torch, not both. `scale` defaults to 1 / sqrt(E). `dropout_p` > 0
/// drops attention weights (inverted dropout, masks from `dropout_seed`, or a
/// drawn seed when unset). Throws tapegrad::Error naming the shapes for
/// operands of rank < 2, extents that do not fit, a mask that is not 0/1 or
/// a mask with is_causal.
template <class T>
Tensor<T> scaled_dot_product_attention(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                       const Tensor<T>& attn_mask = Tensor<T>(), double dropout_p = 0,
                                       bool is_causal = false, std::optional<double> scale = std::nullopt,
                                       std::optional<std::uint64_t> dropout_seed = std::nullopt);

/// The 0/1 mask of a causal attention over `queries` x `keys`: 1 above the
/// diagonal, where query i would see a key after it. MultiheadAttention's
/// attn_mask convention (1 = may not attend), torch's
/// nn.Transformer.generate_square_subsequent_mask as a boolean mask.
template <class T>
Tensor<T> causal_mask(std::size_t queries, std::size_t keys);

/// MultiheadAttentionOptions(64, 4).dropout(0.1).batch_first(true): torch's
/// arguments and defaults (add_bias_kv, add_zero_attn, kdim and vdim are not
/// offered: query, key and value all have embed_dim features).
class MultiheadAttentionOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "MultiheadAttentionOptions";
    /// embed_dim must divide into num_heads heads; throws tapegrad::Error otherwise.
    MultiheadAttentionOptions(std::size_t embed_dim, std::size_t num_heads);
    /// Features of each query, key and value (> 0).
    TAPEGRAD_OPTION(std::size_t, embed_dim, value > 0, "> 0");
    /// Parallel heads of embed_dim / num_heads features each (> 0).
    TAPEGRAD_OPTION(std::size_t, num_heads, value > 0, "> 0");
    /// Probability of dropping an attention weight in training (default 0).
    TAPEGRAD_OPTION(double, dropout, value >= 0 && value <= 1, "in [0, 1]") = 0;
    /// Whether the input and output projections have biases (default true).
    TAPEGRAD_OPTION_ANY(bool, bias) = true;
    /// Inputs (batch, sequence, features) when true; (sequence, batch,
    /// features) when false, torch's default.
    TAPEGRAD_OPTION_ANY(bool, batch_first) = false;
    /// in_proj_weight draws from derive_seed(seed, 0), out_proj from
    /// derive_seed(seed, 1); unset: drawn when built.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// What MultiheadAttention::attend gives: the attention's output, and its
/// weights when asked for.
template <class T>
struct AttentionOutput {
    /// (L, N, E), or (N, L, E) with batch_first.
    Tensor<T> output;
    /// (N, L, S) averaged over the heads, or (N, H, L, S) per head; undefined
    /// unless need_weights.
    Tensor<T> weights;
};

/// torch.nn.MultiheadAttention: heads of scaled dot-product attention over
/// linear projections of query, key and value, then a linear projection of
/// their concatenation. Parameters as torch's: "in_proj_weight" (3E, E),
/// "in_proj_bias" (3E), "out_proj.weight" (E, E), "out_proj.bias" (E), with
/// torch's initialisation (Xavier-uniform in_proj_weight, zero biases).
template <class T>
class MultiheadAttention : public Module<T> {
public:
    /// Builds the projections as options say.
    explicit MultiheadAttention(const MultiheadAttentionOptions& options);
    /// MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads)).
    MultiheadAttention(std::size_t embed_dim, std::size_t num_heads)
        : MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads)) {}

    /// Self-attention of `input` without masks: attend(input, input, input).output.
    Tensor<T> forward(const Tensor<T>& input) override;

    /// Attention of `query` (L, N, E) over `key` and `value` (S, N, E) (batch
    /// first with batch_first), as torch's forward: `key_padding_mask` (N, S)
    /// has 1 at keys that are padding; `attn_mask` (L, S) or (N * H, L, S) has
    /// 1 where a query may not attend; `is_causal` adds causal_mask(L, S).
    /// Unbatched inputs (L, E) and (S, E) give (L, E), as torch.
    /// `need_weights` returns the attention weights too, averaged over the
    /// heads when `average_attn_weights`. Throws tapegrad::Error naming the
    /// shapes for inputs or masks that do not fit.
    AttentionOutput<T> attend(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                              const Tensor<T>& key_padding_mask = Tensor<T>(), bool need_weights = false,
                              const Tensor<T>& attn_mask = Tensor<T>(), bool average_attn_weights = true,
                              bool is_causal = false);

    /// The options it was built with, the seed filled in when it was drawn.
    const MultiheadAttentionOptions& options() const { return options_; }
    /// The (3E, E) weight of the query, key and value projections, stacked.
    Tensor<T> in_proj_weight() const { return in_proj_weight_; }
    /// Their (3E) bias; undefined without bias.
    Tensor<T> in_proj_bias() const { return in_proj_bias_; }
    /// The output projection.
    Linear<T>& out_proj() const { return *out_proj_; }

protected:
    /// "MultiheadAttention".
    std::string type_name() const override { return "MultiheadAttention"; }
    /// "embed_dim=..., num_heads=..., dropout=..., batch_first=...".
    std::string extra_repr() const override;

private:
    MultiheadAttentionOptions options_;
    Tensor<T> in_proj_weight_, in_proj_bias_;
    std::shared_ptr<Linear<T>> out_proj_;
};

extern template class MultiheadAttention<float>;
extern template class MultiheadAttention<double>;

}  // namespace tapegrad::nn
