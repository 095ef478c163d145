#include <tapegrad/train/thread_context.hpp>

namespace tapegrad::train {

ThreadContext::ThreadContext()
    : grad_enabled_(grad_enabled()), anomaly_(anomaly_detection_enabled()), frozen_(nn::running_stats_frozen()),
      one_thread_(one_thread_products()), seeds_(seed_scope_state()), hook_(current_leaf_gradient_hook<float>()) {}

ThreadContext::Entered::Entered(const ThreadContext& context) {
    // Recording is set either way (a thread entering may have turned it
    // off); the other modes have guards that turn them on only.
    if (context.grad_enabled_)
        enable_grad_.emplace();
    else
        no_grad_.emplace();
    if (context.anomaly_) anomaly_.emplace();
    if (context.frozen_) frozen_.emplace();
    if (context.one_thread_) one_thread_.emplace();
    if (context.seeds_) seeds_.emplace(*context.seeds_);
    // The caller's hook itself, not a copy of it (a hook that counts or
    // collects must see every call).
    if (const LeafGradientHook<float>* hook = context.hook_)
        hook_.emplace([hook](const Tensor<float>& leaf, const Tensor<float>& grad) { (*hook)(leaf, grad); });
}

}  // namespace tapegrad::train
