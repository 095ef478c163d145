/// \file
/// Normalisation layers, as torch.nn's: BatchNorm1d, BatchNorm2d (batch
/// statistics in training, running statistics in evaluation) and LayerNorm.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// RAII guard: while one is alive on this thread, batch norm layers in
/// training mode still normalise with the batch's statistics but leave their
/// running statistics and batch count alone (they neither read nor write
/// them). train::Trainer opens one on every batch shard but the first when it
/// splits batches across threads (TrainerOptions::shards), so that one thread
/// alone updates them (all shards compute the whole batch's statistics,
/// autograd/batch_shard.hpp). Create and destroy it on
/// the same thread.
class FrozenRunningStatsGuard {
public:
    /// Freezes the running statistics on this thread.
    FrozenRunningStatsGuard();
    /// Restores the state found by the constructor.
    ~FrozenRunningStatsGuard();
    FrozenRunningStatsGuard(const FrozenRunningStatsGuard&) = delete;
    FrozenRunningStatsGuard& operator=(const FrozenRunningStatsGuard&) = delete;

private:
    bool previous_;
};

/// Whether a FrozenRunningStatsGuard is alive on this thread.
bool running_stats_frozen();

/// BatchNormOptions(16).momentum(0.1).eps(1e-5).affine(true).track_running_stats(true):
/// PyTorch's arguments and defaults. Each setter throws tapegrad::Error naming
/// the option and the value when it is out of range.
class BatchNormOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "BatchNormOptions";
    /// The number of channels C, checked by its setter.
    explicit BatchNormOptions(std::size_t num_features) { this->num_features(num_features); }
    /// The number of channels C of the (N, C, ...) input (> 0).
    TAPEGRAD_OPTION(std::size_t, num_features, value > 0, "> 0");
    /// Added to the variance before its square root (finite, >= 0; default 1e-5).
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-5;
    /// The weight of each batch in the running statistics, in [0, 1] (default
    /// 0.1); unset (std::nullopt) makes them the plain average of all batches
    /// so far, as PyTorch's momentum=None.
    TAPEGRAD_OPTION(std::optional<double>, momentum, !value || (*value >= 0 && *value <= 1),
                    "in [0, 1] or unset") = 0.1;
    /// Whether the layer has a learned weight (ones) and bias (zeros); default true.
    TAPEGRAD_OPTION_ANY(bool, affine) = true;
    /// Whether the layer keeps running statistics (buffers running_mean,
    /// running_var, num_batches_tracked) and uses them in evaluation; default
    /// true. Without them it always normalises with the batch's statistics.
    TAPEGRAD_OPTION_ANY(bool, track_running_stats) = true;
};

/// What BatchNorm1d and BatchNorm2d share: batch_norm over the channels of an
/// (N, C, ...) input, as torch.nn's _BatchNorm. Parameters "weight" (ones) and
/// "bias" (zeros), shape (C), when affine; buffers "running_mean" (zeros),
/// "running_var" (ones), shape (C), and "num_batches_tracked" (0, an
/// integer buffer stored as int64), when tracking running statistics.
///
/// In training (train()) each forward normalises with the batch's mean and
/// biased variance and, when tracking, updates the running statistics (with
/// the unbiased variance) and counts the batch; in evaluation (eval()) it uses
/// the running statistics. A float layer counts batches exactly up to 2^24.
/// On a shard of a batch (autograd/batch_shard.hpp), the statistics are the
/// whole batch's, summed over the shards, as torch.nn.SyncBatchNorm.
/// Under a FrozenRunningStatsGuard, training leaves the running statistics
/// and the count as they are.
template <class T>
class BatchNormBase : public Module<T> {
public:
    /// batch_norm(input, ...) as described above. Throws tapegrad::Error naming
    /// the layer and the shape for an input of another rank or channel count,
    /// or a training batch with one value per channel; then nothing changes.
    Tensor<T> forward(const Tensor<T>& input) override;

    /// The weight parameter, shape (C); undefined without affine.
    Tensor<T> weight() const { return weight_; }
    /// The bias parameter, shape (C); undefined without affine.
    Tensor<T> bias() const { return bias_; }
    /// The running mean buffer, shape (C); undefined without track_running_stats.
    Tensor<T> running_mean() const { return running_mean_; }
    /// The running variance buffer, shape (C); undefined without track_running_stats.
    Tensor<T> running_var() const { return running_var_; }
    /// The number of training batches seen, a 0-d buffer; undefined without
    /// track_running_stats.
    Tensor<T> num_batches_tracked() const { return num_batches_tracked_; }
    /// The options it was built with.
    const BatchNormOptions& options() const { return options_; }

protected:
    /// Registers the parameters and buffers `options` asks for, for a layer
    /// called `name` (its type_name(), given here because registering calls it
    /// before a subclass exists) that takes input of the ranks `ranks`.
    BatchNormBase(const BatchNormOptions& options, std::string name, std::vector<std::size_t> ranks);
    /// The name given to the constructor: "BatchNorm1d" or "BatchNorm2d".
    std::string type_name() const override { return name_; }
    /// "16, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true".
    std::string extra_repr() const override;

private:
    BatchNormOptions options_;
    std::string name_;
    std::vector<std::size_t> ranks_;
    Tensor<T> weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

/// Batch normalisation of (N, C) or (N, C, L) input, as torch.nn.BatchNorm1d.
template <class T>
class BatchNorm1d : public BatchNormBase<T> {
public:
    /// A layer for options.num_features() channels.
    explicit BatchNorm1d(const BatchNormOptions& options) : BatchNormBase<T>(options, "BatchNorm1d", {2, 3}) {}
    /// BatchNorm1d(BatchNormOptions(num_features)).
    explicit BatchNorm1d(std::size_t num_features) : BatchNorm1d(BatchNormOptions(num_features)) {}
};

/// Batch normalisation of (N, C, H, W) input, as torch.nn.BatchNorm2d.
template <class T>
class BatchNorm2d : public BatchNormBase<T> {
public:
    /// A layer for options.num_features() channels.
    explicit BatchNorm2d(const BatchNormOptions& options) : BatchNormBase<T>(options, "BatchNorm2d", {4}) {}
    /// BatchNorm2d(BatchNormOptions(num_features)).
    explicit BatchNorm2d(std::size_t num_features) : BatchNorm2d(BatchNormOptions(num_features)) {}
};

/// LayerNormOptions({5}).eps(1e-5).elementwise_affine(true): PyTorch's
/// arguments and defaults; setters check their values as BatchNormOptions'.
class LayerNormOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "LayerNormOptions";
    /// The normalised shape, checked by its setter.
    explicit LayerNormOptions(Shape normalized_shape) { this->normalized_shape(std::move(normalized_shape)); }
    /// The last axes of the input that are normalised together (not empty).
    TAPEGRAD_OPTION(Shape, normalized_shape, !value.empty(), "not empty");
    /// Added to the variance before its square root (finite, >= 0; default 1e-5).
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-5;
    /// Whether the layer has a learned weight (ones) and bias (zeros) of
    /// shape normalized_shape; default true.
    TAPEGRAD_OPTION_ANY(bool, elementwise_affine) = true;
};

/// layer_norm over the last axes, as torch.nn.LayerNorm: each slice of shape
/// normalized_shape is normalised by its own mean and variance, then scaled
/// by "weight" (ones) and shifted by "bias" (zeros) when elementwise_affine.
/// The same in training and evaluation.
template <class T>
class LayerNorm : public Module<T> {
public:
    /// A layer normalising slices of options.normalized_shape().
    explicit LayerNorm(const LayerNormOptions& options);

    /// layer_norm(input, normalized_shape, weight, bias, eps). Throws
    /// tapegrad::Error naming the shapes unless the input ends in normalized_shape.
    Tensor<T> forward(const Tensor<T>& input) override;

    /// The weight parameter; undefined without elementwise_affine.
    Tensor<T> weight() const { return weight_; }
    /// The bias parameter; undefined without elementwise_affine.
    Tensor<T> bias() const { return bias_; }
    /// The options it was built with.
    const LayerNormOptions& options() const { return options_; }

protected:
    /// "LayerNorm".
    std::string type_name() const override { return "LayerNorm"; }
    /// "(5,), eps=1e-05, elementwise_affine=true".
    std::string extra_repr() const override;

private:
    LayerNormOptions options_;
    Tensor<T> weight_, bias_;
};

extern template class BatchNormBase<float>;
extern template class BatchNormBase<double>;
extern template class BatchNorm1d<float>;
extern template class BatchNorm1d<double>;
extern template class BatchNorm2d<float>;
extern template class BatchNorm2d<double>;
extern template class LayerNorm<float>;
extern template class LayerNorm<double>;

}  // namespace tapegrad::nn
