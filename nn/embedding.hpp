/// \file
/// Embedding: a lookup table of learned vectors, one row per id, as
/// torch.nn.Embedding, and its functional form nn::embedding.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// The rows of `weight` (num_embeddings, embedding_dim) at `indices`, of any
/// shape (0-d included): shape indices.shape() + (embedding_dim,), as
/// torch.nn.functional.embedding. It is index_select on the flattened ids,
/// reshaped. Where an id is `padding_idx` (in [0, num_embeddings)) the output
/// is that row's value but passes no gradient back, so the padding row's
/// gradient stays zero, as PyTorch's.
///
/// Throws tapegrad::Error naming "embedding", the weight's shape and the id
/// and its position when `weight` is not 2-D, an id is outside
/// [0, num_embeddings) or padding_idx is.
template <class T>
Tensor<T> embedding(const Tensor<T>& weight, const Indices& indices,
                    std::optional<std::int64_t> padding_idx = std::nullopt);

/// EmbeddingOptions(27, 64).padding_idx(0).seed(7): PyTorch's arguments
/// (max_norm, scale_grad_by_freq and sparse are not supported). Setters throw
/// tapegrad::Error naming the option and the value when it is out of range.
class EmbeddingOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "EmbeddingOptions";
    /// The table's two sizes; throws tapegrad::Error if num_embeddings is 0.
    EmbeddingOptions(std::size_t num_embeddings, std::size_t embedding_dim) {
        this->num_embeddings(num_embeddings);
        this->embedding_dim(embedding_dim);
    }
    /// How many ids the table has rows for (> 0).
    TAPEGRAD_OPTION(std::size_t, num_embeddings, value > 0, "> 0");
    /// The length of each row (any, 0 included, as PyTorch).
    TAPEGRAD_OPTION_ANY(std::size_t, embedding_dim);
    /// The id whose row starts at zero and gets no gradient (as PyTorch's,
    /// negative counts from the end: -1 is num_embeddings - 1); unset by
    /// default. The module checks it against num_embeddings.
    TAPEGRAD_OPTION_ANY(std::optional<std::int64_t>, padding_idx);
    /// The weight draws from derive_seed(seed, 0). Unset by default: the
    /// module then draws one (tapegrad::draw_seed()).
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// A table of num_embeddings learned vectors of embedding_dim values, as
/// torch.nn.Embedding: parameter "weight" (num_embeddings, embedding_dim),
/// starting N(0, 1) as PyTorch's with the padding row, if any, zeroed.
///
/// Takes ids of any shape and gives shape (..., embedding_dim). Besides
/// Indices it takes a Tensor<T> of whole numbers, so that it can sit first in
/// a Sequential (the ids get no gradient).
template <class T>
class Embedding : public Module<T> {
public:
    /// Draws the weight from options.seed() or a drawn seed. Throws
    /// tapegrad::Error naming the module when padding_idx is outside
    /// [-num_embeddings, num_embeddings).
    explicit Embedding(const EmbeddingOptions& options);
    /// Embedding(EmbeddingOptions(num_embeddings, embedding_dim)).
    Embedding(std::size_t num_embeddings, std::size_t embedding_dim)
        : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}

    /// embedding(weight(), indices, padding_idx()); an id out of range throws
    /// tapegrad::Error naming the module, the id and its position.
    Tensor<T> forward(const Indices& indices);
    /// The same for ids held as values of T: each must be a whole number in
    /// [0, num_embeddings), else tapegrad::Error naming the module, the value
    /// and its position.
    Tensor<T> forward(const Tensor<T>& input) override;
    using Module<T>::operator();
    /// forward(indices), so that `emb(ids)` reads like a function.
    Tensor<T> operator()(const Indices& indices) { return forward(indices); }

    /// The weight parameter (num_embeddings, embedding_dim): a handle.
    Tensor<T> weight() const { return weight_; }
    /// The padding id, in [0, num_embeddings) (a negative option resolved), if any.
    std::optional<std::int64_t> padding_idx() const { return padding_idx_; }
    /// The options it was built with, the seed filled in when it was drawn.
    const EmbeddingOptions& options() const { return options_; }

protected:
    /// "Embedding".
    std::string type_name() const override { return "Embedding"; }
    /// "27, 64" and ", padding_idx=0" when set, as PyTorch prints it.
    std::string extra_repr() const override;

private:
    std::string name() const;  // "Embedding(27, 64)", for errors

    EmbeddingOptions options_;
    std::optional<std::int64_t> padding_idx_;
    Tensor<T> weight_;
};

extern template class Embedding<float>;
extern template class Embedding<double>;

}  // namespace tapegrad::nn
