#include <tapegrad/nn/normalization.hpp>

#include <algorithm>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

namespace {
thread_local bool stats_frozen = false;
}

FrozenRunningStatsGuard::FrozenRunningStatsGuard() : previous_(stats_frozen) { stats_frozen = true; }
FrozenRunningStatsGuard::~FrozenRunningStatsGuard() { stats_frozen = previous_; }
bool running_stats_frozen() { return stats_frozen; }

template <class T>
BatchNormBase<T>::BatchNormBase(const BatchNormOptions& options, std::string name, std::vector<std::size_t> ranks)
    : options_(options), name_(std::move(name)), ranks_(std::move(ranks)) {
    const Shape channels{options_.num_features()};
    if (options_.affine()) {
        weight_ = this->register_parameter("weight", Tensor<T>::ones(channels));
        bias_ = this->register_parameter("bias", Tensor<T>::zeros(channels));
    }
    if (options_.track_running_stats()) {
        running_mean_ = this->register_buffer("running_mean", Tensor<T>::zeros(channels));
        running_var_ = this->register_buffer("running_var", Tensor<T>::ones(channels));
        num_batches_tracked_ = this->register_buffer("num_batches_tracked", Tensor<T>::scalar(0), BufferKind::Integer);
    }
}

template <class T>
Tensor<T> BatchNormBase<T>::forward(const Tensor<T>& input) {
    const std::size_t channels = options_.num_features();
    if (std::find(ranks_.begin(), ranks_.end(), input.dim()) == ranks_.end() || input.shape()[1] != channels) {
        std::string ranks;
        for (std::size_t i = 0; i < ranks_.size(); ++i)
            ranks += (i == 0 ? "" : " or ") + std::to_string(ranks_[i]) + "-D";
        throw Error(name_ + "(" + std::to_string(channels) + "): expects " + ranks + " input with " +
                    std::to_string(channels) + " channels (axis 1), got " + shape_str(input.shape()));
    }
    const bool tracking = options_.track_running_stats();
    // As PyTorch: without running statistics, batch statistics even in evaluation.
    const bool use_batch_stats = this->is_training() || !tracking;
    const bool counting = this->is_training() && tracking && !stats_frozen;
    // momentum unset: the running statistics average every batch so far,
    // this one included.
    const T batches = counting ? num_batches_tracked_.item() + T(1) : T(0);
    const double momentum = options_.momentum() ? *options_.momentum() : counting ? 1 / double(batches) : 0.0;
    // Frozen in training: batch statistics, and no running ones to update
    // (another thread may be updating them).
    const bool frozen = this->is_training() && stats_frozen;
    Tensor<T> output = batch_norm(input, frozen ? Tensor<T>() : running_mean_, frozen ? Tensor<T>() : running_var_,
                                  weight_, bias_, use_batch_stats, momentum, options_.eps());
    if (counting) num_batches_tracked_.data_mut()() = batches;  // once batch_norm has not thrown
    return output;
}

template <class T>
std::string BatchNormBase<T>::extra_repr() const {
    const auto flag = [](bool on) { return on ? "true" : "false"; };
    return std::to_string(options_.num_features()) + ", eps=" + detail::option_value_text(options_.eps()) +
           ", momentum=" + detail::option_value_text(options_.momentum()) + ", affine=" + flag(options_.affine()) +
           ", track_running_stats=" + flag(options_.track_running_stats());
}

template <class T>
LayerNorm<T>::LayerNorm(const LayerNormOptions& options) : options_(options) {
    if (options_.elementwise_affine()) {
        weight_ = this->register_parameter("weight", Tensor<T>::ones(options_.normalized_shape()));
        bias_ = this->register_parameter("bias", Tensor<T>::zeros(options_.normalized_shape()));
    }
}

template <class T>
Tensor<T> LayerNorm<T>::forward(const Tensor<T>& input) {
    try {
        return layer_norm(input, options_.normalized_shape(), weight_, bias_, options_.eps());
    } catch (const Error& e) {
        throw Error("LayerNorm(" + extra_repr() + "): " + e.what());
    }
}

template <class T>
std::string LayerNorm<T>::extra_repr() const {
    return shape_str(options_.normalized_shape()) + ", eps=" + detail::option_value_text(options_.eps()) +
           ", elementwise_affine=" + (options_.elementwise_affine() ? "true" : "false");
}

template class BatchNormBase<float>;
template class BatchNormBase<double>;
template class BatchNorm1d<float>;
template class BatchNorm1d<double>;
template class BatchNorm2d<float>;
template class BatchNorm2d<double>;
template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace tapegrad::nn
