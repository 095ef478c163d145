#include <tapegrad/nn/embedding.hpp>

#include <algorithm>
#include <cmath>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad::nn {

namespace {

// Where flat element `flat` of `shape` sits, as "(i, j)": errors name an id
// by its position in the caller's array, not in the flattened one.
std::string position_str(std::size_t flat, const Shape& shape) {
    Shape index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    return shape_str(index);
}

// embedding() with `caller` naming the caller in errors: "embedding" or the module.
template <class T>
Tensor<T> lookup(const std::string& caller, const Tensor<T>& weight, const Indices& indices,
                 std::optional<std::int64_t> padding_idx) {
    if (weight.dim() != 2)
        throw Error(caller + ": the weight must be 2-D (num_embeddings, embedding_dim), got " + shape_str(weight.shape()));
    const Shape table = weight.shape(), id_shape(indices.shape().begin(), indices.shape().end());
    const auto rows = std::int64_t(table[0]);
    if (padding_idx && (*padding_idx < 0 || *padding_idx >= rows))
        throw Error(caller + ": padding_idx " + std::to_string(*padding_idx) + " is out of range for a weight of shape " +
                    shape_str(table));
    const Labels ids(indices.begin(), indices.end());  // row-major, as reshape reads them back
    for (std::size_t j = 0; j < ids.size(); ++j)
        if (ids[j] < 0 || ids[j] >= rows)
            throw Error(caller + ": id " + std::to_string(ids[j]) + " at position " + position_str(j, id_shape) +
                        " of ids " + shape_str(id_shape) + " is out of range [0, " + std::to_string(rows) +
                        ") of a weight of shape " + shape_str(table));
    Tensor<T> rows_out = index_select(weight, 0, ids);
    if (padding_idx && std::find(ids.begin(), ids.end(), *padding_idx) != ids.end()) {
        // The padding row's value, as a constant: where() passes no gradient
        // to the branch it did not take, so the padding row's stays zero.
        Array<T> is_padding = Array<T>::from_shape({ids.size(), 1});
        for (std::size_t j = 0; j < ids.size(); ++j) is_padding(j, 0) = ids[j] == *padding_idx;
        Array<T> padding_row = Array<T>::from_shape({1, table[1]});
        std::copy_n(weight.data().data() + std::size_t(*padding_idx) * table[1], table[1], padding_row.data());
        rows_out = where(Tensor<T>(std::move(is_padding)), Tensor<T>(std::move(padding_row)), rows_out);
    }
    Shape out_shape = id_shape;
    out_shape.push_back(table[1]);
    return reshape(rows_out, out_shape);
}

}  // namespace

template <class T>
Tensor<T> embedding(const Tensor<T>& weight, const Indices& indices, std::optional<std::int64_t> padding_idx) {
    return lookup("embedding", weight, indices, padding_idx);
}

template <class T>
Embedding<T>::Embedding(const EmbeddingOptions& options) : options_(options) {
    const auto rows = std::int64_t(options_.num_embeddings());
    if (const auto p = options_.padding_idx()) {
        if (*p < -rows || *p >= rows)
            throw Error(name() + ": padding_idx " + std::to_string(*p) + " must be in [" + std::to_string(-rows) +
                        ", " + std::to_string(rows) + ")");
        padding_idx_ = *p < 0 ? *p + rows : *p;
    }
    if (!options_.seed()) options_.seed(draw_seed());
    Tensor<T> weight = Tensor<T>::normal({options_.num_embeddings(), options_.embedding_dim()}, T(0), T(1),
                                         derive_seed(*options_.seed(), 0));
    const std::size_t dim = options_.embedding_dim();
    if (padding_idx_) std::fill_n(weight.data_mut().data() + std::size_t(*padding_idx_) * dim, dim, T(0));
    weight_ = this->register_parameter("weight", weight);
}

template <class T>
Tensor<T> Embedding<T>::forward(const Indices& indices) {
    return lookup(name(), weight_, indices, padding_idx_);
}

template <class T>
Tensor<T> Embedding<T>::forward(const Tensor<T>& input) {
    const Array<T>& values = input.data();
    Indices ids = Indices::from_shape(values.shape());
    const double rows = double(options_.num_embeddings());
    for (std::size_t j = 0; j < values.size(); ++j) {
        const double v = double(values.flat(j));
        // Checked as a double before the cast: a NaN or 1e30 has no int64.
        if (!(v >= 0 && v < rows && std::floor(v) == v))
            throw Error(name() + ": expects ids, whole numbers in [0, " + std::to_string(options_.num_embeddings()) +
                        "), got " + detail::option_value_text(v) + " at position " +
                        position_str(j, input.shape()) + " of input " + shape_str(input.shape()));
        ids.flat(j) = std::int64_t(v);
    }
    return forward(ids);
}

template <class T>
std::string Embedding<T>::name() const {
    return "Embedding(" + std::to_string(options_.num_embeddings()) + ", " + std::to_string(options_.embedding_dim()) +
           ")";
}

template <class T>
std::string Embedding<T>::extra_repr() const {
    std::string text = std::to_string(options_.num_embeddings()) + ", " + std::to_string(options_.embedding_dim());
    if (padding_idx_) text += ", padding_idx=" + std::to_string(*padding_idx_);
    return text;
}

template Tensor<float> embedding(const Tensor<float>&, const Indices&, std::optional<std::int64_t>);
template Tensor<double> embedding(const Tensor<double>&, const Indices&, std::optional<std::int64_t>);
template class Embedding<float>;
template class Embedding<double>;

}  // namespace tapegrad::nn
