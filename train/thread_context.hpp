/// \file
/// The thread-local modes code runs in (recording, anomaly checks, frozen
/// running statistics, one-thread products, the seed scope, the leaf
/// gradient hook), captured on one thread and entered on another: so that
/// work a thread hands to others (a batch split across threads,
/// train::BatchGradients) runs there as it would have run on that thread.
///
/// \code
///   const train::ThreadContext context;  // on the calling thread
///   pool.run(n, [&](std::size_t i) {
///       const train::ThreadContext::Entered in(context);  // on each worker
///       ...
///   });
/// \endcode
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/nn/normalization.hpp>

namespace tapegrad::train {

/// This thread's modes, as the constructor finds them:
/// - grad_enabled() (a NoGradGuard, or an EnableGradGuard inside one);
/// - anomaly_detection_enabled() (a DetectAnomalyGuard);
/// - nn::running_stats_frozen() (an nn::FrozenRunningStatsGuard);
/// - one_thread_products() (a OneThreadProductsGuard);
/// - the innermost SeedScope, as the numbers it draws next
///   (seed_scope_state()): every thread that enters the context draws the
///   same numbers from there, as dropout on the shards of a batch must;
/// - the innermost LeafGradientHookGuard<float>'s hook
///   (current_leaf_gradient_hook()), by reference: it must outlive the
///   context, and a thread that enters it calls that same hook (which then
///   runs on several threads at once when they call backward()).
///
/// Entering sets recording as captured, and turns on each other mode the
/// capturing thread had on; a mode the entering thread had on itself stays
/// on (a worker thread has none).
///
/// Not carried: a ProductWorkCounter (it counts its own thread's products)
/// and a BatchShardGuard (whoever splits a batch installs each part's own).
class ThreadContext {
public:
    /// Captures the calling thread's modes.
    ThreadContext();

    /// The caller's leaf gradient hook (LeafGradientHookGuard<float>), or nullptr.
    const LeafGradientHook<float>* leaf_gradient_hook() const { return hook_; }

    /// RAII: while one is alive, this thread runs in the captured modes; the
    /// destructor gives it back its own. Create and destroy it on the same
    /// thread (any thread, the capturing one included); the context must
    /// outlive it.
    class Entered {
    public:
        /// Enters `context` on this thread.
        explicit Entered(const ThreadContext& context);
        Entered(const Entered&) = delete;
        Entered& operator=(const Entered&) = delete;

    private:
        // Each guard restores what it found, in reverse order of entering.
        std::optional<NoGradGuard> no_grad_;
        std::optional<EnableGradGuard> enable_grad_;
        std::optional<DetectAnomalyGuard> anomaly_;
        std::optional<nn::FrozenRunningStatsGuard> frozen_;
        std::optional<OneThreadProductsGuard> one_thread_;
        std::optional<SeedScope> seeds_;
        std::optional<LeafGradientHookGuard<float>> hook_;
    };

private:
    bool grad_enabled_, anomaly_, frozen_, one_thread_;
    std::optional<std::uint64_t> seeds_;
    const LeafGradientHook<float>* hook_;
};

}  // namespace tapegrad::train
