#include <tapegrad/train/gradient_reducer.hpp>

#include <algorithm>
#include <cstring>

namespace tapegrad::train {

template <class T>
GradientReducer<T>::GradientReducer(Communicator& communicator, std::vector<Tensor<T>> params, std::size_t bucket_bytes)
    : communicator_(communicator), params_(std::move(params)) {
    if (params_.empty()) throw Error("GradientReducer: no parameters");
    if (bucket_bytes == 0) throw Error("GradientReducer: bucket_bytes must be > 0");
    slots_.resize(params_.size());
    arrived_.assign(params_.size(), 0);
    // Reverse order: the last layer's gradients are complete first.
    buckets_.emplace_back();
    std::size_t size = 0;
    for (std::size_t i = params_.size(); i-- > 0;) {
        const Tensor<T>& p = params_[i];
        if (!p.requires_grad())
            throw Error("GradientReducer: parameter " + std::to_string(i) + " of shape " + shape_str(p.shape()) +
                        " does not require a gradient");
        if (!index_of_.emplace(p.impl().get(), i).second)
            throw Error("GradientReducer: parameter " + std::to_string(i) + " is listed twice");
        if (size > 0 && (size + p.size()) * sizeof(T) > bucket_bytes) {
            buckets_.back().values.resize(size);
            buckets_.emplace_back();
            size = 0;
        }
        slots_[i] = {buckets_.size() - 1, size};
        buckets_.back().params.push_back(i);
        size += p.size();
    }
    buckets_.back().values.resize(size);
}

template <class T>
void GradientReducer<T>::begin_step() {
    std::fill(arrived_.begin(), arrived_.end(), 0);
    for (Bucket& b : buckets_) b.missing = b.params.size();
    next_to_start_ = 0;
    in_step_ = true;
}

template <class T>
LeafGradientHookGuard<T> GradientReducer<T>::hook() {
    return LeafGradientHookGuard<T>([this](const Tensor<T>& leaf, const Tensor<T>& grad) {
        const auto found = index_of_.find(leaf.impl().get());
        if (found != index_of_.end()) ready(found->second, grad);
    });
}

template <class T>
void GradientReducer<T>::ready(std::size_t index, const Tensor<T>& grad) {
    if (!in_step_) throw Error("GradientReducer: a gradient outside a step (call begin_step() first)");
    if (index >= params_.size() || arrived_[index])
        throw Error("GradientReducer: the gradient of parameter " + std::to_string(index) +
                    (index >= params_.size() ? " (there are " + std::to_string(params_.size()) + ")"
                                             : " arrived twice in one step"));
    if (grad.data().shape() != params_[index].data().shape())
        throw Error("GradientReducer: a gradient of shape " + shape_str(grad.shape()) + " for parameter " +
                    std::to_string(index) + " of shape " + shape_str(params_[index].shape()));
    const Slot slot = slots_[index];
    std::memcpy(buckets_[slot.bucket].values.data() + slot.offset, grad.data().data(), grad.size() * sizeof(T));
    arrived_[index] = 1;
    --buckets_[slot.bucket].missing;
    start_ready_buckets();
    communicator_.progress();
}

// Buckets start strictly in order, so every process starts its sums in the
// same order (MPI's rule for collectives) whatever order backward finishes them.
template <class T>
void GradientReducer<T>::start_ready_buckets() {
    while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].missing == 0) {
        Bucket& b = buckets_[next_to_start_++];
        communicator_.start_allreduce_sum(b.values.data(), b.values.size());
    }
}

template <class T>
std::vector<double> GradientReducer<T>::finish(std::vector<double> extras) {
    // Without begin_step() no bucket would ever be complete: nothing would be
    // summed, and each process would step with its own gradients.
    if (!in_step_) throw Error("GradientReducer: finish() without begin_step()");
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (arrived_[i]) continue;
        const Tensor<T> g = params_[i].grad();
        if (g.defined()) {
            ready(i, g);
        } else {
            const Slot slot = slots_[i];
            std::fill_n(buckets_[slot.bucket].values.data() + slot.offset, params_[i].size(), T(0));
            arrived_[i] = 1;
            --buckets_[slot.bucket].missing;
        }
    }
    start_ready_buckets();
    if (!extras.empty()) communicator_.start_allreduce_sum(extras.data(), extras.size());
    communicator_.wait_all();
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Slot slot = slots_[i];
        const T* sum = buckets_[slot.bucket].values.data() + slot.offset;
        Tensor<T> g = params_[i].grad();
        // In place when .grad is this process's own array of the right shape;
        // the optimizer reads it next.
        if (!g.defined() || g.impl().use_count() > 2 || g.impl()->grad_fn) {
            g = Tensor<T>(Array<T>::from_shape(params_[i].data().shape()));
            params_[i].set_grad(g);
        }
        std::memcpy(g.data_mut().data(), sum, params_[i].size() * sizeof(T));
    }
    in_step_ = false;
    return extras;
}

template class GradientReducer<float>;
template class GradientReducer<double>;

}  // namespace tapegrad::train
