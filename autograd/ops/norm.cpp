// dropout, batch_norm, layer_norm.
//
// The two normalisations share one gradient formula, over the elements that
// share a mean and var (a channel's over the batch, or a slice's):
//   xhat = (x - mean) * invstd,  invstd = 1 / sqrt(var + eps),  dxhat = g * weight
//   dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))   (batch statistics)
//   dx = invstd * dxhat                                              (running statistics: constants)
//   dweight = sum of g * xhat,  dbias = sum of g, over what shares a weight.
// Recorded (create_graph), it is written with tensor ops, so it can be
// differentiated again; unrecorded, one loop per group evaluates it from the
// mean and invstd the forward kept, with no temporaries and no graph nodes
// (tape.hpp: the same formula, another evaluation). Measured (float,
// -O3, one thread): batch norm forward + backward of a (200, 32, 14, 14)
// batch takes 14 ms fused against 192 ms composed of mean/sub/pow/mul ops
// (forward alone 3.3 ms against 64 ms); (32, 16, 28, 28): 1.8 against 26 ms.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/batch_shard.hpp>

namespace tapegrad {

namespace {
// The dropout mask scaled by 1 / (1 - p): 0 where an element is dropped.
// Element k draws a double in [0, 1) from the top 53 bits of
// derive_seed(seed, first + k) (SplitMix64, spelled out in random.cpp, so
// the same on every platform, for float and double alike), and is kept when
// its draw is >= p. Drawn by number rather than in sequence, a shard of a
// batch numbers its elements from its first row (`first`, dropout_offset())
// and gets its rows of the whole batch's mask.
template <class T>
Array<T> dropout_mask(const Shape& shape, double p, std::uint64_t seed, std::uint64_t first) {
    Array<T> mask = Array<T>::from_shape(shape);
    const T kept = p < 1 ? T(1 / (1 - p)) : T(0);
    T* m = mask.data();
    for (std::size_t k = 0; k < mask.size(); ++k)
        m[k] = double(derive_seed(seed, first + k) >> 11) * 0x1p-53 >= p ? kept : T(0);
    return mask;
}

// Where `input`'s elements start in the whole batch's numbering, on a shard
// of a batch (batch_shard.hpp): first_row() rows on for a batch-first input
// (axis 0 the shard's rows); 0 for a leaf (a parameter or a constant: the
// same tensor, and so the same mask, on every shard, as on one thread).
// Anything else (a sequence-first or flattened batch) cannot be placed in
// the whole batch: an Error rather than masks that differ from one thread's.
template <class T>
std::uint64_t dropout_offset(const Tensor<T>& input) {
    const BatchShard* const shard = batch_shard();
    if (!shard || (input.is_leaf() && input.requires_grad())) return 0;
    const Shape& shape = input.shape();
    if (!shape.empty() && shape[0] == shard->rows())
        return std::uint64_t(shard->first_row()) * (shape[0] == 0 ? 0 : input.size() / shape[0]);
    if (input.is_leaf()) return 0;
    throw Error("dropout: on a shard of a batch (its " + std::to_string(shard->rows()) + " rows from row " +
                std::to_string(shard->first_row()) + "), the input's axis 0 must be the shard's rows, got input " +
                shape_str(shape) + ": apply dropout to batch-first tensors, or train with shards(1)");
}
}  // namespace

template <class T>
Tensor<T> dropout(const Tensor<T>& input, double p, bool training, std::uint64_t seed) {
    if (!(p >= 0 && p <= 1))
        throw Error("dropout: p must be in [0, 1], got " + detail::option_value_text(p) + " (input " +
                    shape_str(input.shape()) + ")");
    if (!training || p == 0) return input;
    Tensor<T> mask(dropout_mask<T>(input.shape(), p, seed, dropout_offset(input)));
    return record<T>("dropout", input.data() * mask.data(), {input},
                     [mask](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{mul(g, mask)};  // linear in the input: the mask is a constant
                     });
}

namespace {
// The recorded form of the formula above on `x` and `g` laid out so that
// `group_mean` (a keepdims mean) averages what shares a mean and var and
// `weight` (undefined: 1) broadcasts against them. `fixed_mean` and
// `fixed_invstd` are the running statistics, or undefined for batch ones.
// Returns dx and xhat.
template <class T, class GroupMean>
std::pair<Tensor<T>, Tensor<T>> recorded_input_grad(const Tensor<T>& x, const Tensor<T>& g, const Tensor<T>& weight,
                                                    const Tensor<T>& fixed_mean, const Tensor<T>& fixed_invstd,
                                                    double eps, const GroupMean& group_mean) {
    const Tensor<T> dxhat = weight.defined() ? mul(g, weight) : g;
    if (fixed_mean.defined()) return {mul(dxhat, fixed_invstd), mul(sub(x, fixed_mean), fixed_invstd)};
    const Tensor<T> centred = sub(x, group_mean(x));
    const Tensor<T> invstd = pow(add(group_mean(mul(centred, centred)), T(eps)), T(-0.5));
    const Tensor<T> xhat = mul(centred, invstd);
    const Tensor<T> dx = mul(invstd, sub(sub(dxhat, group_mean(dxhat)), mul(xhat, group_mean(mul(dxhat, xhat)))));
    return {dx, xhat};
}

// A mean and 1 / sqrt(var + eps) of `count` values, the biased var in `var`;
// two passes in double, so that a large mean does not swamp the var.
template <class T, class Values>
std::pair<double, double> moments(const Values& values, std::size_t count, double eps, double& var) {
    double total = 0;
    values([&](T v) { total += double(v); });
    const double mean = total / double(count);
    double squares = 0;
    values([&](T v) { squares += (double(v) - mean) * (double(v) - mean); });
    var = squares / double(count);
    return {mean, 1 / std::sqrt(var + eps)};
}

std::size_t product(Shape::const_iterator begin, Shape::const_iterator end) {
    std::size_t n = 1;
    for (; begin != end; ++begin) n *= *begin;
    return n;
}

void check_eps(const char* op, double eps, const Shape& shape) {
    if (!(std::isfinite(eps) && eps >= 0))
        throw Error(std::string(op) + ": eps must be finite and >= 0, got " + detail::option_value_text(eps) +
                    " (input " + shape_str(shape) + ")");
}

// `t`, if defined, must have `shape`.
template <class T>
void check_shape(const char* op, const char* name, const Tensor<T>& t, const Shape& shape, const Shape& input) {
    if (t.defined() && t.shape() != shape)
        throw Error(std::string(op) + ": " + name + " of shape " + shape_str(t.shape()) + " for input " +
                    shape_str(input) + " (expected " + shape_str(shape) + ")");
}
}  // namespace

template <class T>
Tensor<T> batch_norm(const Tensor<T>& input, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                     const Tensor<T>& weight, const Tensor<T>& bias, bool training, double momentum, double eps) {
    const Shape shape = input.shape();
    const auto fail = [&](const std::string& why) {
        throw Error("batch_norm: " + why + " (input " + shape_str(shape) + ")");
    };
    if (shape.size() < 2) fail("expects input of shape (N, C, ...), at least 2-D");
    // Viewed as (N, C, L): L is everything after the channels.
    const std::size_t n = shape[0], channels = shape[1], l = product(shape.begin() + 2, shape.end()), m = n * l;
    for (const auto& [name, t] : {std::pair{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean},
                                  {"running_var", &running_var}})
        check_shape("batch_norm", name, *t, {channels}, shape);
    if (running_mean.defined() != running_var.defined())
        fail("running_mean and running_var must both be given or both be undefined");
    if (!training && !running_mean.defined()) fail("evaluation (training false) needs running_mean and running_var");
    if (!(momentum >= 0 && momentum <= 1)) fail("momentum must be in [0, 1], got " + detail::option_value_text(momentum));
    check_eps("batch_norm", eps, shape);
    // A batch split into shards (threads or processes, batch_shard.hpp) is
    // normalised with the whole batch's statistics: sums over the shards.
    BatchShard* const shards = training ? batch_shard() : nullptr;
    if (training && m < 2 && !shards)
        fail("training needs more than 1 value per channel, got " + std::to_string(m));

    // Per channel: the mean and invstd that normalise (the batch's or the running ones).
    Array<T> mean = Array<T>::from_shape({1, channels, 1}), invstd = Array<T>::from_shape({1, channels, 1});
    std::vector<double> batch_mean(channels), unbiased_var(channels);
    const T* x = input.data().data();
    double count = double(m);  // values per channel, over the shards
    if (training) {
        const auto channel = [&](std::size_t c, const auto& visit) {
            for (std::size_t i = 0; i < n; ++i)
                for (const T* v = x + (i * channels + c) * l; v != x + (i * channels + c + 1) * l; ++v) visit(*v);
        };
        // Two passes in double, so that a large mean does not swamp the var:
        // the sums, then the squared distances from their mean.
        std::vector<double> sums(channels + 1, 0.0);
        for (std::size_t c = 0; c < channels; ++c) channel(c, [&](T v) { sums[c] += double(v); });
        if (shards) {
            sums[channels] = double(m);
            shards->sum(sums.data(), sums.size());
            count = sums[channels];
            if (count < 2)
                fail("training needs more than 1 value per channel, got " + detail::option_value_text(count) +
                     " over the shards of the batch");
        }
        std::vector<double> squares(channels, 0.0);
        for (std::size_t c = 0; c < channels; ++c) {
            batch_mean[c] = sums[c] / count;
            const double mu = batch_mean[c];
            channel(c, [&](T v) { squares[c] += (double(v) - mu) * (double(v) - mu); });
        }
        if (shards) shards->sum(squares.data(), squares.size());
        for (std::size_t c = 0; c < channels; ++c) {
            const double var = squares[c] / count;
            unbiased_var[c] = var * count / (count - 1);
            mean.data()[c] = T(batch_mean[c]);
            invstd.data()[c] = T(1 / std::sqrt(var + eps));
        }
    } else {
        for (std::size_t c = 0; c < channels; ++c) {
            mean.data()[c] = running_mean.data()[c];
            invstd.data()[c] = T(1 / std::sqrt(double(running_var.data()[c]) + eps));
        }
    }
    Array<T> out = Array<T>::from_shape(shape);
    T* y = out.data();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < channels; ++c) {
            const T scale = invstd.data()[c] * (weight.defined() ? weight.data()[c] : T(1));
            const T shift = bias.defined() ? bias.data()[c] : T(0);
            for (std::size_t k = (i * channels + c) * l, end = k + l; k < end; ++k) y[k] = (x[k] - mean.data()[c]) * scale + shift;
        }

    TensorList<T> inputs{input};
    if (weight.defined()) inputs.push_back(weight);
    if (bias.defined()) inputs.push_back(bias);
    const bool has_weight = weight.defined(), has_bias = bias.defined();
    Tensor<T> result = record<T>(
        "batch_norm", std::move(out), std::move(inputs),
        [mean = Tensor<T>(std::move(mean)), invstd = Tensor<T>(std::move(invstd)), shape, n, channels, l, training,
         eps, has_weight, has_bias, count, synced = shards != nullptr](const Inputs<T>& in, const Tensor<T>&,
                                                                        const Tensor<T>& g) {
            Gradients<T> grads(in.size());
            const Tensor<T> w = has_weight ? in[1] : Tensor<T>();
            // The forward's statistics came from the shards' sums, so their
            // gradient needs the shards' sums of g and g * xhat too: in the
            // same group, and unrecorded.
            BatchShard* const shards = synced ? batch_shard() : nullptr;
            if (synced && !shards)
                throw Error("the forward normalised with statistics summed over the shards of a "
                            "batch, but backward runs outside them (input " + shape_str(shape) + ")");
            if (grad_enabled()) {
                if (synced)
                    throw Error("create_graph is not supported with statistics summed over the shards "
                                "of a batch (input " + shape_str(shape) + "); train with one shard");
                const Shape grouped{n, channels, l};
                const auto channel_mean = [](const Tensor<T>& t) { return tapegrad::mean(tapegrad::mean(t, 0, true), 2, true); };
                const auto channel_sum = [](const Tensor<T>& t) { return sum(sum(t, 2), 0); };
                const Tensor<T> g3 = reshape(g, grouped);
                const auto [dx, xhat] = recorded_input_grad<T>(
                    reshape(in[0], grouped), g3, has_weight ? reshape(w, {1, channels, 1}) : Tensor<T>(),
                    training ? Tensor<T>() : mean, training ? Tensor<T>() : invstd, eps, channel_mean);
                grads[0] = reshape(dx, shape);
                if (has_weight) grads[1] = channel_sum(mul(g3, xhat));
                if (has_bias) grads.back() = channel_sum(g3);
                return grads;
            }
            Array<T> dx = Array<T>::from_shape(shape), dw = Array<T>::from_shape({channels}),
                     db = Array<T>::from_shape({channels});
            const T *x = in[0].data().data(), *dy = g.data().data();
            // Per channel: the sums of g and g * xhat over this shard's
            // rows (the parameters' gradients), then over all shards.
            std::vector<double> sums(2 * channels, 0.0);
            for (std::size_t c = 0; c < channels; ++c) {
                const double mu = double(mean.data().data()[c]), inv = double(invstd.data().data()[c]);
                double sum_g = 0, sum_gx = 0;
                for (std::size_t i = 0; i < n; ++i)
                    for (std::size_t k = (i * channels + c) * l, end = k + l; k < end; ++k) {
                        sum_g += double(dy[k]);
                        sum_gx += double(dy[k]) * (double(x[k]) - mu) * inv;
                    }
                sums[c] = sum_g;
                sums[channels + c] = sum_gx;
                dw[c] = T(sum_gx);
                db[c] = T(sum_g);
            }
            if (shards && training) shards->sum(sums.data(), sums.size());
            for (std::size_t c = 0; c < channels; ++c) {
                const double mu = double(mean.data().data()[c]), inv = double(invstd.data().data()[c]);
                const double scale = inv * (has_weight ? double(w.data()[c]) : 1.0);
                // Batch statistics: their own gradient through mean and var.
                const double g_mean = training ? sums[c] / count : 0, gx_mean = training ? sums[channels + c] / count : 0;
                for (std::size_t i = 0; i < n; ++i)
                    for (std::size_t k = (i * channels + c) * l, end = k + l; k < end; ++k)
                        dx.data()[k] = T(scale * (double(dy[k]) - g_mean - (double(x[k]) - mu) * inv * gx_mean));
            }
            grads[0] = Tensor<T>(std::move(dx));
            if (has_weight) grads[1] = Tensor<T>(std::move(dw));
            if (has_bias) grads.back() = Tensor<T>(std::move(db));
            return grads;
        });
    // Only once the output exists (record() may throw under anomaly
    // detection): a call that throws changes nothing.
    if (training && running_mean.defined()) {
        Tensor<T> rm = running_mean, rv = running_var;  // handles to the caller's buffers
        for (std::size_t c = 0; c < channels; ++c) {
            T& m_c = rm.data_mut()[c];
            T& v_c = rv.data_mut()[c];
            m_c = T((1 - momentum) * double(m_c) + momentum * batch_mean[c]);
            v_c = T((1 - momentum) * double(v_c) + momentum * unbiased_var[c]);
        }
    }
    return result;
}

template <class T>
Tensor<T> layer_norm(const Tensor<T>& input, const Shape& normalized_shape, const Tensor<T>& weight,
                     const Tensor<T>& bias, double eps) {
    const Shape shape = input.shape();
    const std::size_t k = normalized_shape.size();
    if (k == 0 || k > shape.size() || !std::equal(normalized_shape.begin(), normalized_shape.end(), shape.end() - std::ptrdiff_t(k)))
        throw Error("layer_norm: normalized_shape " + shape_str(normalized_shape) +
                    " must be the last axes of the input, got input " + shape_str(shape));
    check_shape("layer_norm", "weight", weight, normalized_shape, shape);
    check_shape("layer_norm", "bias", bias, normalized_shape, shape);
    check_eps("layer_norm", eps, shape);
    // Viewed as (R, K): one row per slice.
    const std::size_t cols = product(normalized_shape.begin(), normalized_shape.end());
    const std::size_t rows = cols == 0 ? 0 : input.size() / cols;
    Array<T> mean = Array<T>::from_shape({rows, 1}), invstd = Array<T>::from_shape({rows, 1});
    Array<T> out = Array<T>::from_shape(shape);
    const T* x = input.data().data();
    T* y = out.data();
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = x + r * cols;
        double var = 0;
        const auto [mu, inv] = moments<T>([&](const auto& visit) { std::for_each(row, row + cols, visit); }, cols, eps, var);
        mean.data()[r] = T(mu);
        invstd.data()[r] = T(inv);
        for (std::size_t j = 0; j < cols; ++j)
            y[r * cols + j] = (row[j] - mean.data()[r]) * invstd.data()[r] * (weight.defined() ? weight.data()[j] : T(1)) +
                              (bias.defined() ? bias.data()[j] : T(0));
    }
    TensorList<T> inputs{input};
    if (weight.defined()) inputs.push_back(weight);
    if (bias.defined()) inputs.push_back(bias);
    const bool has_weight = weight.defined(), has_bias = bias.defined();
    return record<T>(
        "layer_norm", std::move(out), std::move(inputs),
        [mean = Tensor<T>(std::move(mean)), invstd = Tensor<T>(std::move(invstd)), shape, normalized_shape, rows, cols,
         eps, has_weight, has_bias](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
            Gradients<T> grads(in.size());
            const Tensor<T> w = has_weight ? in[1] : Tensor<T>();
            if (grad_enabled()) {
                const Shape grouped{rows, cols};
                const Tensor<T> g2 = reshape(g, grouped);
                // No slice to average over an empty input (mean refuses that).
                const auto row_mean = [cols](const Tensor<T>& t) { return cols ? tapegrad::mean(t, 1, true) : t; };
                const auto [dx, xhat] = recorded_input_grad<T>(reshape(in[0], grouped), g2,
                                                               has_weight ? reshape(w, {cols}) : Tensor<T>(), Tensor<T>(),
                                                               Tensor<T>(), eps, row_mean);
                grads[0] = reshape(dx, shape);
                if (has_weight) grads[1] = reshape(sum(mul(g2, xhat), 0), normalized_shape);
                if (has_bias) grads.back() = reshape(sum(g2, 0), normalized_shape);
                return grads;
            }
            Array<T> dx = Array<T>::from_shape(shape);
            std::vector<double> dw(cols), db(cols);
            const T *x = in[0].data().data(), *dy = g.data().data();
            for (std::size_t r = 0; r < rows; ++r) {
                const double mu = double(mean.data().data()[r]), inv = double(invstd.data().data()[r]);
                const auto xhat = [&](std::size_t j) { return (double(x[r * cols + j]) - mu) * inv; };
                const auto dxhat = [&](std::size_t j) {
                    return double(dy[r * cols + j]) * (has_weight ? double(w.data()[j]) : 1.0);
                };
                double sum_d = 0, sum_dx = 0;
                for (std::size_t j = 0; j < cols; ++j) {
                    sum_d += dxhat(j);
                    sum_dx += dxhat(j) * xhat(j);
                    dw[j] += double(dy[r * cols + j]) * xhat(j);
                    db[j] += double(dy[r * cols + j]);
                }
                for (std::size_t j = 0; j < cols; ++j)
                    dx.data()[r * cols + j] =
                        T(inv * (dxhat(j) - sum_d / double(cols) - xhat(j) * sum_dx / double(cols)));
            }
            grads[0] = Tensor<T>(std::move(dx));
            const auto as_tensor = [&](const std::vector<double>& values) {
                Array<T> a = Array<T>::from_shape(normalized_shape);
                std::copy(values.begin(), values.end(), a.begin());
                return Tensor<T>(std::move(a));
            };
            if (has_weight) grads[1] = as_tensor(dw);
            if (has_bias) grads.back() = as_tensor(db);
            return grads;
        });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_norm 1
#include <tapegrad/autograd/ops/instantiate.hpp>
