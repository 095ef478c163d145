#include <tapegrad/nn/attention.hpp>

#include <cmath>
#include <limits>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/init.hpp>

namespace tapegrad::nn {

namespace {

// Throws unless `mask` holds only 0s and 1s and takes no gradient: a mask
// selects, it is never differentiated.
template <class T>
void check_mask(const char* op, const char* name, const Tensor<T>& mask) {
    if (mask.requires_grad())
        throw Error(std::string(op) + ": " + name + " " + shape_str(mask.shape()) +
                    " requires a gradient; a mask takes none (detach it)");
    for (const T m : mask.data())
        if (m != T(0) && m != T(1))
            throw Error(std::string(op) + ": " + name + " " + shape_str(mask.shape()) + " must hold only 0s and 1s");
}

// `blocked` (1 = may not attend) widened by `more`, broadcasting.
template <class T>
Array<T> block(const Array<T>& blocked, const Array<T>& more) {
    if (blocked.size() == 0 && blocked.dimension() == 0) return more;
    return xt::maximum(blocked, more);
}

// softmax(query key^T * scale, masked where `blocked` is 1) along the keys,
// then dropout: the attention weights, (..., L, S). `blocked` is empty for no
// mask. What scaled_dot_product_attention and MultiheadAttention share.
template <class T>
Tensor<T> attention_weights(const Tensor<T>& query, const Tensor<T>& key, const Array<T>& blocked, double scale,
                            double dropout_p, std::optional<std::uint64_t> dropout_seed) {
    Tensor<T> scores = mul(matmul(query, key, false, true), T(scale));
    if (blocked.dimension() > 0)
        scores = masked_fill(scores, Tensor<T>(blocked), -std::numeric_limits<T>::infinity());
    Tensor<T> weights = softmax(scores, -1);
    if (dropout_p > 0) weights = dropout(weights, dropout_p, true, dropout_seed ? *dropout_seed : draw_seed());
    return weights;
}

}  // namespace

template <class T>
Tensor<T> causal_mask(std::size_t queries, std::size_t keys) {
    Array<T> mask = xt::zeros<T>({queries, keys});
    for (std::size_t i = 0; i < queries; ++i)
        for (std::size_t j = i + 1; j < keys; ++j) mask(i, j) = T(1);
    return Tensor<T>(std::move(mask));
}

template <class T>
Tensor<T> scaled_dot_product_attention(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                       const Tensor<T>& attn_mask, double dropout_p, bool is_causal,
                                       std::optional<double> scale, std::optional<std::uint64_t> dropout_seed) {
    const char* op = "scaled_dot_product_attention";
    const Shape q = query.shape(), k = key.shape(), v = value.shape();
    if (q.size() < 2 || k.size() < 2 || v.size() < 2 || q.back() != k.back() || k[k.size() - 2] != v[v.size() - 2])
        throw Error(std::string(op) + ": expects query (..., L, E), key (..., S, E) and value (..., S, Ev), got " +
                    shape_str(q) + ", " + shape_str(k) + ", " + shape_str(v));
    if (!(dropout_p >= 0 && dropout_p <= 1))
        throw Error(std::string(op) + ": dropout_p must be in [0, 1], got " + std::to_string(dropout_p));
    if (scale && !std::isfinite(*scale)) throw Error(std::string(op) + ": scale must be finite");
    if (is_causal && attn_mask.defined())
        throw Error(std::string(op) + ": give attn_mask or is_causal, not both (as torch)");
    const std::size_t queries = q[q.size() - 2], keys = k[k.size() - 2];
    Array<T> blocked;
    if (attn_mask.defined()) {
        check_mask(op, "attn_mask", attn_mask);
        blocked = T(1) - attn_mask.data();
    }
    if (is_causal) blocked = causal_mask<T>(queries, keys).data();
    if (blocked.dimension() > 0) {
        // The mask must broadcast to the scores (..., L, S): checked here, by name.
        Shape scores = broadcast_shapes(op, Shape(q.begin(), q.end() - 2), Shape(k.begin(), k.end() - 2));
        scores.push_back(queries);
        scores.push_back(keys);
        const Shape mask_shape(blocked.shape().begin(), blocked.shape().end());
        if (broadcast_shapes(op, scores, mask_shape) != scores)
            throw Error(std::string(op) + ": attn_mask " + shape_str(attn_mask.shape()) +
                        " does not broadcast to the scores " + shape_str(scores));
    }
    const double s = scale ? *scale : 1 / std::sqrt(double(q.back()));
    return matmul(attention_weights(query, key, blocked, s, dropout_p, dropout_seed), value);
}

MultiheadAttentionOptions::MultiheadAttentionOptions(std::size_t embed_dim, std::size_t num_heads) {
    this->embed_dim(embed_dim);
    this->num_heads(num_heads);
    if (embed_dim % num_heads != 0)
        throw Error("MultiheadAttentionOptions: embed_dim " + std::to_string(embed_dim) +
                    " must divide into num_heads " + std::to_string(num_heads) + " heads");
}

template <class T>
MultiheadAttention<T>::MultiheadAttention(const MultiheadAttentionOptions& options) : options_(options) {
    if (options_.embed_dim() % options_.num_heads() != 0)
        throw Error("MultiheadAttention: embed_dim " + std::to_string(options_.embed_dim()) +
                    " must divide into num_heads " + std::to_string(options_.num_heads()) + " heads");
    if (!options_.seed()) options_.seed(draw_seed());
    const std::uint64_t seed = *options_.seed();
    const std::size_t e = options_.embed_dim();
    // torch's _reset_parameters: Xavier-uniform over the stacked (3E, E)
    // weight (fan_in E, fan_out 3E), zero biases; out_proj a Linear's default.
    in_proj_weight_ = this->register_parameter("in_proj_weight",
                                               init_weight<T>(Init::XavierUniform, e, 3 * e, derive_seed(seed, 0)));
    if (options_.bias()) in_proj_bias_ = this->register_parameter("in_proj_bias", Tensor<T>::zeros({3 * e}));
    out_proj_ = std::make_shared<Linear<T>>(LinearOptions(e, e).bias(options_.bias()).seed(derive_seed(seed, 1)));
    if (options_.bias()) out_proj_->bias().data_mut().fill(T(0));
    this->register_module("out_proj", out_proj_);
}

template <class T>
Tensor<T> MultiheadAttention<T>::forward(const Tensor<T>& input) {
    return attend(input, input, input).output;
}

template <class T>
AttentionOutput<T> MultiheadAttention<T>::attend(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                                 const Tensor<T>& key_padding_mask, bool need_weights,
                                                 const Tensor<T>& attn_mask, bool average_attn_weights,
                                                 bool is_causal) {
    const std::size_t e = options_.embed_dim(), heads = options_.num_heads(), head_dim = e / heads;
    const std::string op = "MultiheadAttention(" + std::to_string(e) + ", " + std::to_string(heads) + ")";
    const Shape qs = query.shape(), ks = key.shape(), vs = value.shape();
    const bool batched = qs.size() == 3;
    const auto bad_inputs = [&]() {
        return Error(op + ": expects query (L, N, " + std::to_string(e) + ") and key, value (S, N, " +
                     std::to_string(e) + ") (batch first with batch_first; or unbatched (L, E), (S, E)), got " +
                     shape_str(qs) + ", " + shape_str(ks) + ", " + shape_str(vs));
    };
    if ((qs.size() != 2 && qs.size() != 3) || ks.size() != qs.size() || vs != ks || qs.back() != e || ks.back() != e)
        throw bad_inputs();
    // Everything below works on (N, L, E).
    const auto to_batch_first = [&](const Tensor<T>& x) {
        if (!batched) return reshape(x, {1, x.shape()[0], e});
        return options_.batch_first() ? x : permute(x, {1, 0, 2});
    };
    const Tensor<T> q_in = to_batch_first(query);
    const bool self_attention = query.same_as(key) && key.same_as(value);
    const Tensor<T> k_in = self_attention ? q_in : to_batch_first(key);
    const Tensor<T> v_in = key.same_as(value) ? k_in : to_batch_first(value);
    const std::size_t n = q_in.shape()[0], queries = q_in.shape()[1], keys = k_in.shape()[1];
    if (k_in.shape()[0] != n) throw bad_inputs();

    // The projections, heads split off: (N, H, L, D).
    const auto heads_of = [&](const Tensor<T>& x) {
        return permute(reshape(x, {n, x.shape()[1], heads, head_dim}), {0, 2, 1, 3});
    };
    const auto project = [&](const Tensor<T>& x, std::size_t part, std::size_t parts) {
        const Tensor<T> w = parts == 3 ? in_proj_weight_ : narrow(in_proj_weight_, 0, std::int64_t(part * e), std::int64_t(e));
        const Tensor<T> rows = reshape(x, {x.shape()[0] * x.shape()[1], e});
        Tensor<T> y = in_proj_bias_.defined()
                          ? linear(rows, w, parts == 3 ? in_proj_bias_
                                                       : narrow(in_proj_bias_, 0, std::int64_t(part * e), std::int64_t(e)))
                          : matmul(rows, w, false, true);
        return reshape(y, {x.shape()[0], x.shape()[1], parts == 3 ? 3 * e : e});
    };
    Tensor<T> q, k, v;
    if (self_attention) {  // one product for all three
        const Tensor<T> qkv = project(q_in, 0, 3);
        q = heads_of(narrow(qkv, 2, 0, std::int64_t(e)));
        k = heads_of(narrow(qkv, 2, std::int64_t(e), std::int64_t(e)));
        v = heads_of(narrow(qkv, 2, std::int64_t(2 * e), std::int64_t(e)));
    } else {
        q = heads_of(project(q_in, 0, 1));
        k = heads_of(project(k_in, 1, 1));
        v = heads_of(project(v_in, 2, 1));
    }

    // Where a query may not attend, as (N or 1, H or 1, L or 1, S).
    Array<T> blocked;
    if (key_padding_mask.defined()) {
        check_mask(op.c_str(), "key_padding_mask", key_padding_mask);
        const Shape want = batched ? Shape{n, keys} : Shape{keys};
        if (key_padding_mask.shape() != want)
            throw Error(op + ": key_padding_mask must have shape " + shape_str(want) + ", got " +
                        shape_str(key_padding_mask.shape()));
        Array<T> padding = key_padding_mask.data();
        padding.reshape({n, 1, 1, keys});
        blocked = padding;
    }
    if (attn_mask.defined()) {
        check_mask(op.c_str(), "attn_mask", attn_mask);
        const Shape shape = attn_mask.shape();
        Array<T> mask = attn_mask.data();
        if (shape == Shape{queries, keys})
            mask.reshape({1, 1, queries, keys});
        else if (shape == Shape{n * heads, queries, keys})
            mask.reshape({n, heads, queries, keys});
        else
            throw Error(op + ": attn_mask must have shape " + shape_str({queries, keys}) + " or " +
                        shape_str({n * heads, queries, keys}) + ", got " + shape_str(shape));
        blocked = block(blocked, mask);
    }
    if (is_causal) blocked = block(blocked, causal_mask<T>(queries, keys).data());

    const double p = this->is_training() ? options_.dropout() : 0;
    const Tensor<T> weights = attention_weights(q, k, blocked, 1 / std::sqrt(double(head_dim)), p, std::nullopt);
    // (N, H, L, D) -> (N, L, E), then the output projection.
    const Tensor<T> joined = reshape(permute(matmul(weights, v), {0, 2, 1, 3}), {n, queries, e});
    Tensor<T> out = out_proj_->forward(joined);
    out = !batched ? reshape(out, {queries, e}) : options_.batch_first() ? out : permute(out, {1, 0, 2});
    AttentionOutput<T> result{out, Tensor<T>()};
    if (need_weights) {
        result.weights = average_attn_weights ? mean(weights, 1) : weights;
        if (!batched) result.weights = reshape(result.weights, average_attn_weights ? Shape{queries, keys}
                                                                                    : Shape{heads, queries, keys});
    }
    return result;
}

template <class T>
std::string MultiheadAttention<T>::extra_repr() const {
    return "embed_dim=" + std::to_string(options_.embed_dim()) + ", num_heads=" + std::to_string(options_.num_heads()) +
           ", dropout=" + detail::option_value_text(options_.dropout()) +
           ", batch_first=" + (options_.batch_first() ? "true" : "false");
}

#define TAPEGRAD_INSTANTIATE_ATTENTION(T)                                                                           \
    template Tensor<T> scaled_dot_product_attention(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,            \
                                                    const Tensor<T>&, double, bool, std::optional<double>,           \
                                                    std::optional<std::uint64_t>);                                    \
    template Tensor<T> causal_mask<T>(std::size_t, std::size_t);                                                     \
    template class MultiheadAttention<T>;
TAPEGRAD_INSTANTIATE_ATTENTION(float)
TAPEGRAD_INSTANTIATE_ATTENTION(double)
#undef TAPEGRAD_INSTANTIATE_ATTENTION

}  // namespace tapegrad::nn
