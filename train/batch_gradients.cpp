#include <tapegrad/train/batch_gradients.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <tapegrad/autograd/batch_shard.hpp>
#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/train/shard_sums.hpp>
#include <tapegrad/train/thread_context.hpp>
#include <tapegrad/train/worker_pool.hpp>

namespace tapegrad::train {

namespace {
// A loss that is not a number, thrown by the part of the batch that met it
// and caught by BatchGradients::this_process.
struct NonFinite {};

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Rows [first, last) of a batch's inputs (or targets), a copy.
Tensor<float> rows_of(const Tensor<float>& inputs, std::size_t first, std::size_t last) {
    Shape shape = inputs.shape();
    const std::size_t row_size = shape[0] ? inputs.size() / shape[0] : 0;
    shape[0] = last - first;
    Array<float> rows = Array<float>::from_shape(shape);
    std::copy_n(inputs.data().data() + first * row_size, (last - first) * row_size, rows.data());
    return Tensor<float>(std::move(rows));
}

std::size_t correct_of(const Tensor<float>& outputs, const Labels& labels, const Tensor<float>& targets) {
    return targets.defined() ? std::size_t(0) : count_correct(outputs.data(), labels);
}

// The multiply-adds per row of the model's forward on `inputs`, in
// evaluation mode without a graph (GradientPlan::min_shard_work): no running
// statistics change, no dropout draws; the batch's own forward comes next.
double forward_work_per_row(nn::Module<float>& model, const Tensor<float>& inputs) {
    model.eval();
    struct BackToTraining {
        nn::Module<float>& model;
        ~BackToTraining() { model.train(); }
    } back{model};
    const NoGradGuard no_graph;
    const ProductWorkCounter work;
    model(inputs);
    return double(work.multiply_adds()) / double(inputs.shape()[0]);
}
}  // namespace

void broadcast_from_rank0(Communicator& processes, const std::vector<Tensor<float>>& tensors) {
    for (Tensor<float> t : tensors) processes.broadcast(t.data_mut().data(), t.size() * sizeof(float));
}

BatchGradients::BatchGradients(nn::Module<float>& model, std::vector<Tensor<float>> params, const Dataset& data,
                               LabelLoss loss, TargetLoss target_loss, const GradientPlan& plan)
    : model_(model), params_(std::move(params)), data_(data), loss_(std::move(loss)),
      target_loss_(std::move(target_loss)), plan_(plan) {
    if (plan_.threads() > 1) workers_ = std::make_unique<tapegrad::detail::WorkerPool>(plan_.threads());
}

BatchGradients::~BatchGradients() = default;

Tensor<float> BatchGradients::loss_of(const Tensor<float>& outputs, const Labels& labels,
                                      const Tensor<float>& targets) const {
    if (targets.defined()) return target_loss_(outputs, targets);
    return loss_ ? loss_(outputs, labels) : cross_entropy(outputs, labels);
}

// Rows [first, last) of the batch's inputs: cut from `inputs`, or, where the
// loader gathered none, gathered from the data set.
Tensor<float> BatchGradients::inputs_of(const Batch& batch, const Tensor<float>& inputs, std::size_t first,
                                        std::size_t last) const {
    if (!inputs.defined()) return gather_inputs(data_, batch.rows.data() + first, last - first);
    return first == 0 && last == batch.rows.size() ? inputs : rows_of(inputs, first, last);
}

BatchTotals BatchGradients::compute(const Batch& batch, const Tensor<float>& inputs) {
    // A share that does not fit in its batch would weight its loss wrongly
    // (or divide by 0).
    if (batch.rows.size() > batch.global_rows || batch.first_row > batch.global_rows - batch.rows.size())
        throw Error("BatchGradients: a batch's share of " + std::to_string(batch.rows.size()) + " rows at row " +
                    std::to_string(batch.first_row) + " does not fit in a batch of " +
                    std::to_string(batch.global_rows) + " rows (Batch::first_row, Batch::global_rows)");
    Communicator* const processes = plan_.communicator();
    if (!processes) return this_process(batch, inputs);
    GradientReducer<float>& reducer = *plan_.reducer();
    reducer.begin_step();
    BatchTotals totals;
    if (!batch.rows.empty()) {  // a process's share of a short last batch may be empty
        totals = this_process(batch, inputs);  // NaN: decided with the others, who must not wait for this one
    } else {
        // The others' batch norm sums still count on this process: zeros,
        // for each sum the model made in the last batch.
        tapegrad::detail::ShardSums::replay_without_rows(*processes, replica_sum_counts_);
    }
    const std::vector<double> sums = reducer.finish({totals.loss_sum, double(totals.correct)});
    // Buffers (batch norm's running statistics) are rank 0's, which its rows
    // updated (the first of the batch: the others' stay frozen), as PyTorch's
    // DDP broadcasts them; for validation too.
    broadcast_from_rank0(*processes, model_.buffers());
    if (!std::isfinite(sums[0])) {
        for (Tensor<float> p : params_) p.zero_grad();
        return {nan, 0};
    }
    return {sums[0], static_cast<std::size_t>(sums[1])};
}

BatchTotals BatchGradients::this_process(const Batch& batch, const Tensor<float>& inputs) {
    // The one place the caller's modes are captured: every range of the
    // batch runs in them, from the batch's SeedScope as it stands now.
    const ThreadContext caller;
    try {
        const std::size_t ranges = range_count(batch, inputs);
        if (ranges == 1) return whole(batch, inputs, caller);
        return in_ranges(batch, inputs, ranges, caller);
    } catch (const NonFinite&) {
        return {nan, 0};
    }
}

// At least two rows a range (a short last batch of 3 rows runs whole), and
// at least min_shard_work a range: a thread of its own does not pay for less
// (TrainerOptions::min_shard_work). The work per row is measured on the first
// batch, as the model sees it (transformed).
std::size_t BatchGradients::range_count(const Batch& batch, const Tensor<float>& inputs) {
    if (!workers_) return 1;
    const std::size_t rows = batch.rows.size();
    const std::uint64_t min_work = plan_.min_shard_work();
    if (work_per_row_ < 0)
        work_per_row_ = min_work > 0 ? forward_work_per_row(model_, inputs_of(batch, inputs, 0, rows)) : 0;
    const double work = work_per_row_ * double(rows);
    const std::size_t by_work = min_work == 0 || work >= double(plan_.threads()) * double(min_work)
                                    ? plan_.threads()
                                    : std::max<std::size_t>(1, std::size_t(work / double(min_work)));
    return std::min({by_work, std::max<std::size_t>(rows / 2, 1), workers_->size()});
}

// The whole batch (or this process's share) on this thread, in the caller's
// context as it is: no copy, gradients straight into grad() (weighted only
// when the batch is shared). A batch too small to cut (under min_shard_work,
// or 3 rows on 2 threads) runs so: products on the BLAS's threads, which
// measured faster than one thread's alone (bench/README.md).
BatchTotals BatchGradients::whole(const Batch& batch, const Tensor<float>& inputs, const ThreadContext& caller) {
    const std::size_t rows = batch.rows.size();
    Communicator* const communicator = plan_.communicator();
    // Only the process with the batch's row 0 writes the running statistics.
    std::optional<nn::FrozenRunningStatsGuard> frozen;
    if (batch.first_row != 0) frozen.emplace();
    // This process's rows of a batch shared by the processes start at
    // first_row: dropout's masks and batch norm's sums see them there.
    std::optional<tapegrad::detail::ShardSums> sums;
    std::optional<BatchShardGuard> shard;
    if (communicator)
        shard.emplace(sums.emplace(1, communicator->size() > 1 ? communicator : nullptr).shard(0, batch.first_row, rows));
    const Tensor<float> logits = model_(inputs_of(batch, inputs, 0, rows));
    Tensor<float> loss = loss_of(logits, batch.labels, batch.targets);
    const double value = loss.item();
    // Once the forward has summed over the processes, so must backward
    // (batch norm's gradient): the others wait for this one's part.
    const bool summing = sums && sums->calls(0) > 0;
    if (!std::isfinite(value) && !summing) throw NonFinite{};
    const Tensor<float> weighted =
        rows == batch.global_rows ? loss : loss * float(double(rows) / double(batch.global_rows));
    if (summing) {
        // As the ranges compute it (grad() over the parameters), so that
        // every process runs the same gradient formulas, and so batch norm's
        // same sums, whichever way its share of the batch runs. No reducer
        // hook: the gradients' sums must not start between batch norm's,
        // where a process with ranges starts none.
        range_grads_.resize(std::max<std::size_t>(range_grads_.size(), 1));
        range_grads_[0] = grad(weighted, params_, Tensor<float>(), false, false, /*allow_unused=*/true);
        add_to_grads(1, caller.leaf_gradient_hook());
        range_grads_[0].clear();
    } else if (GradientReducer<float>* reducer = plan_.reducer()) {
        // The gradients' sums start while backward runs, from the reducer's
        // hook, which calls the caller's first (innermost guards alone are
        // in force).
        const auto reducer_hook = reducer->hook();
        const LeafGradientHook<float>* const to_reducer = current_leaf_gradient_hook<float>();
        std::optional<LeafGradientHookGuard<float>> both;
        if (const LeafGradientHook<float>* const to_caller = caller.leaf_gradient_hook())
            both.emplace([to_caller, to_reducer](const Tensor<float>& leaf, const Tensor<float>& g) {
                (*to_caller)(leaf, g);
                (*to_reducer)(leaf, g);
            });
        weighted.backward();
    } else {
        weighted.backward();  // the caller's hook, if any, is in force
    }
    if (sums) replica_sum_counts_ = sums->counts();
    if (!std::isfinite(value)) throw NonFinite{};
    return {value * double(rows), correct_of(logits, batch.labels, batch.targets)};
}

BatchTotals BatchGradients::in_ranges(const Batch& batch, const Tensor<float>& inputs, std::size_t ranges,
                                      const ThreadContext& caller) {
    const Labels& labels = batch.labels;
    const Tensor<float>& targets = batch.targets;  // defined for a data set with targets
    const std::size_t rows = batch.rows.size();
    Communicator* const communicator = plan_.communicator();
    std::vector<BatchTotals> totals_of(ranges);
    range_grads_.resize(std::max(range_grads_.size(), ranges));
    // Batch norm normalises with the whole batch's statistics: summed over
    // the ranges (threads) and the processes (autograd/batch_shard.hpp).
    tapegrad::detail::ShardSums sums(ranges, communicator && communicator->size() > 1 ? communicator : nullptr);
    const auto run_range_alone = [&](std::size_t s) {
        // The previous batch's gradients of this range, freed by the thread
        // that made them: the per-thread allocator caches then stay in
        // balance (frees on another thread would grow that thread's cache
        // while this one asks the system for more).
        range_grads_[s].clear();
        const auto [first, last] = shard_rows(rows, s, ranges);
        const ThreadContext::Entered in(caller);  // as the calling thread would run it
        // Only the range at the batch's row 0 updates batch norm's running
        // statistics (all ranges compute the same ones).
        std::optional<nn::FrozenRunningStatsGuard> frozen;
        if (batch.first_row + first != 0) frozen.emplace();
        // The ranges share the cores: each one's products on its own thread,
        // without touching the BLAS's process-wide thread count, which other
        // threads of the program may be using (blas.hpp).
        const OneThreadProductsGuard one_thread_products;
        const BatchShardGuard shard(sums.shard(s, batch.first_row + first, last - first));
        const Labels range_labels = targets.defined() ? Labels() : Labels(labels.begin() + std::ptrdiff_t(first),
                                                                            labels.begin() + std::ptrdiff_t(last));
        const Tensor<float> range_targets = targets.defined() ? rows_of(targets, first, last) : Tensor<float>();
        const Tensor<float> logits = model_(inputs_of(batch, inputs, first, last));
        Tensor<float> loss = loss_of(logits, range_labels, range_targets);
        const double value = loss.item();
        // After sums in the forward, the other ranges wait for this one's
        // part of backward's: it goes on, and the batch is dropped after.
        if (!std::isfinite(value) && sums.calls(s) == 0) throw NonFinite{};
        // The rows' share of the batch mean.
        const float weight = float(double(last - first) / double(batch.global_rows));
        range_grads_[s] = grad(loss * weight, params_, Tensor<float>(), false, false, /*allow_unused=*/true);
        if (!std::isfinite(value)) throw NonFinite{};
        totals_of[s] = {value * double(last - first), correct_of(logits, range_labels, range_targets)};
    };
    workers_->run(ranges, [&](std::size_t s) {
        try {
            run_range_alone(s);
            sums.leave(s);
        } catch (...) {
            // The range that failed reports; those it woke return quietly.
            if (sums.woken_by_abort(s)) return;
            sums.abort();  // no range may wait for this one's sums
            throw;
        }
    });
    replica_sum_counts_ = sums.counts();

    // Range 0 + range 1 + ..., always in this order.
    BatchTotals totals;
    for (const BatchTotals& range : totals_of) {
        totals.loss_sum += range.loss_sum;
        totals.correct += range.correct;
    }
    add_to_grads(ranges, caller.leaf_gradient_hook());
    return totals;
}

// Adds range_grads_[0][i] + range_grads_[1][i] + ... (the first `count`
// lists, always in this order; undefined ones skipped) to params_[i].grad(),
// after handing the sum to `hook` (the caller's) as backward() would.
void BatchGradients::add_to_grads(std::size_t count, const LeafGradientHook<float>* hook) {
    const NoGradGuard no_grad;
    for (std::size_t i = 0; i < params_.size(); ++i) {
        Tensor<float> sum;
        for (std::size_t s = 0; s < count; ++s) {
            const Tensor<float>& g = range_grads_[s][i];
            if (g.defined()) sum = sum.defined() ? add(sum, g) : g;
        }
        if (!sum.defined()) continue;
        if (hook) (*hook)(params_[i], sum);
        const Tensor<float> before = params_[i].grad();
        Tensor<float>(params_[i]).set_grad(before.defined() ? add(before, sum) : sum);
    }
}

}  // namespace tapegrad::train
