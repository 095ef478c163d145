#include <tapegrad/nn/transformer.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad::nn {

TransformerEncoderLayerOptions::TransformerEncoderLayerOptions(std::size_t d_model, std::size_t nhead) {
    this->d_model(d_model);
    this->nhead(nhead);
    MultiheadAttentionOptions(d_model, nhead);  // throws unless the heads divide d_model
}

template <class T>
TransformerEncoderLayer<T>::TransformerEncoderLayer(const TransformerEncoderLayerOptions& options)
    : options_(options) {
    MultiheadAttentionOptions(options_.d_model(), options_.nhead());
    if (!options_.seed()) options_.seed(draw_seed());
    const std::uint64_t seed = *options_.seed();
    const std::size_t d = options_.d_model(), ff = options_.dim_feedforward();
    const double p = options_.dropout();
    // Registered in torch's order, so named_parameters() lists as torch's.
    self_attn_ = std::make_shared<MultiheadAttention<T>>(MultiheadAttentionOptions(d, options_.nhead())
                                                             .dropout(p)
                                                             .batch_first(options_.batch_first())
                                                             .seed(derive_seed(seed, 0)));
    linear1_ = std::make_shared<Linear<T>>(LinearOptions(d, ff).seed(derive_seed(seed, 1)));
    dropout_ = std::make_shared<Dropout<T>>(p);
    linear2_ = std::make_shared<Linear<T>>(LinearOptions(ff, d).seed(derive_seed(seed, 2)));
    const LayerNormOptions norm = LayerNormOptions({d}).eps(options_.layer_norm_eps());
    norm1_ = std::make_shared<LayerNorm<T>>(norm);
    norm2_ = std::make_shared<LayerNorm<T>>(norm);
    dropout1_ = std::make_shared<Dropout<T>>(p);
    dropout2_ = std::make_shared<Dropout<T>>(p);
    this->register_module("self_attn", self_attn_);
    this->register_module("linear1", linear1_);
    this->register_module("dropout", dropout_);
    this->register_module("linear2", linear2_);
    this->register_module("norm1", norm1_);
    this->register_module("norm2", norm2_);
    this->register_module("dropout1", dropout1_);
    this->register_module("dropout2", dropout2_);
}

template <class T>
Tensor<T> TransformerEncoderLayer<T>::forward(const Tensor<T>& input) {
    return encode(input);
}

template <class T>
Tensor<T> TransformerEncoderLayer<T>::encode(const Tensor<T>& src, const Tensor<T>& src_mask,
                                             const Tensor<T>& src_key_padding_mask, bool is_causal) {
    const auto attention = [&](const Tensor<T>& x) {
        return dropout1_->forward(self_attn_->attend(x, x, x, src_key_padding_mask, false, src_mask, true, is_causal).output);
    };
    const auto feed_forward = [&](const Tensor<T>& x) {
        const Tensor<T> hidden = linear1_->forward(x);
        const Tensor<T> active =
            options_.activation() == TransformerActivation::GELU ? gelu(hidden) : relu(hidden);
        return dropout2_->forward(linear2_->forward(dropout_->forward(active)));
    };
    if (options_.norm_first()) {
        const Tensor<T> x = src + attention(norm1_->forward(src));
        return x + feed_forward(norm2_->forward(x));
    }
    const Tensor<T> x = norm1_->forward(src + attention(src));
    return norm2_->forward(x + feed_forward(x));
}

template class TransformerEncoderLayer<float>;
template class TransformerEncoderLayer<double>;

}  // namespace tapegrad::nn
