/// \file
/// Data-parallel gradient averaging: the gradients of a model's parameters
/// summed over the processes of a job (a Communicator), in buckets started
/// while backward still runs, as PyTorch's DistributedDataParallel does.
///
/// \code
///   train::GradientReducer<float> reducer(communicator, model.parameters());
///   reducer.begin_step();
///   {
///       const auto hook = reducer.hook();  // each gradient, as soon as backward has it
///       mul(loss, Tensor<float>::scalar(my_rows / global_rows)).backward();
///   }
///   reducer.finish();                      // every .grad now holds the sum over the processes
///   optimizer.step();
/// \endcode
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/train/communicator.hpp>

namespace tapegrad::train {

/// Sums the parameters' gradients of one step over the processes of a job.
/// The parameters are cut into buckets of about `bucket_bytes`, in reverse
/// order (the order backward usually finishes them); a bucket's sum starts as
/// soon as all its gradients have arrived and every earlier bucket has
/// started, so sums start in the same order on every process whatever the
/// timing, and results are deterministic for a given number of processes.
/// Each process weights its loss by its share of the global batch, so the sum
/// is the gradient of the global batch's mean loss: nothing is divided.
/// A few extra numbers (the step's loss, say) are summed at the end of the
/// step with the last bucket, so that every process learns their sums.
template <class T>
class GradientReducer {
public:
    /// The default bucket size, 1 MiB (PyTorch starts with a 1 MiB bucket too).
    static constexpr std::size_t default_bucket_bytes = std::size_t(1) << 20;

    /// Sums the gradients of `params` (the same list, in the same order, on
    /// every process) over `communicator`, which must outlive the reducer.
    /// Throws tapegrad::Error when `params` is empty, holds a tensor twice or
    /// one that requires no gradient, or bucket_bytes is 0.
    GradientReducer(Communicator& communicator, std::vector<Tensor<T>> params,
                    std::size_t bucket_bytes = default_bucket_bytes);
    GradientReducer(const GradientReducer&) = delete;
    GradientReducer& operator=(const GradientReducer&) = delete;

    /// Starts a step: no gradient has arrived yet.
    void begin_step();
    /// While the returned guard lives, every backward() on this thread hands
    /// each parameter's gradient to ready() as soon as it is complete.
    LeafGradientHookGuard<T> hook();
    /// Takes parameter `index`'s gradient of this step (copied: `grad` may go).
    /// Throws tapegrad::Error when it has another shape or arrived already,
    /// or outside a step (before begin_step(), after finish()).
    void ready(std::size_t index, const Tensor<T>& grad);
    /// Ends the step: the gradients that did not arrive through ready() are
    /// taken from the parameters' .grad (zeros where it is undefined), the
    /// remaining sums are started, and once all are done each parameter's
    /// .grad holds the sum of its gradients over the processes. `extras`
    /// (the same count on every process) are summed too: returns their sums.
    /// Throws tapegrad::Error outside a step (before begin_step(), or a second
    /// time): it would hand back this process's gradients unsummed.
    std::vector<double> finish(std::vector<double> extras = {});

    /// How many buckets the parameters were cut into.
    std::size_t bucket_count() const { return buckets_.size(); }

private:
    struct Slot {
        std::size_t bucket, offset;  // where the gradient goes
    };
    struct Bucket {
        std::vector<T> values;
        std::vector<std::size_t> params;  // indices into params_
        std::size_t missing = 0;          // gradients still to arrive this step
    };
    void start_ready_buckets();

    Communicator& communicator_;
    std::vector<Tensor<T>> params_;
    std::unordered_map<const TensorImpl<T>*, std::size_t> index_of_;
    std::vector<Slot> slots_;
    std::vector<char> arrived_;
    std::vector<Bucket> buckets_;
    std::size_t next_to_start_ = 0;
    bool in_step_ = false;  // between begin_step() and finish()
};

}  // namespace tapegrad::train
