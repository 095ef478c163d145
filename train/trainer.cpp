#include <tapegrad/train/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <thread>

#include <zlib.h>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/clip_grad.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/progress.hpp>
#include <tapegrad/train/resume.hpp>

namespace tapegrad::train {

namespace {
// The seed stream of what training batches draw (dropout masks), apart from
// the loader's stream of epoch orders (derive_seed(seed, epoch)).
constexpr std::uint64_t batch_draws_stream = 0x6472'6f70'6f75'7473ULL;  // "dropouts"

// The seed of the SeedScope that training batch `batch` of epoch `epoch`
// (both 1-based) runs in: a function of them and TrainerOptions::seed alone,
// so a resumed run draws the masks the uninterrupted one drew.
std::uint64_t batch_seed(std::uint64_t seed, std::size_t epoch, std::size_t batch) {
    return derive_seed(derive_seed(derive_seed(seed, batch_draws_stream), epoch), batch);
}

// The shape of a data set's inputs, labels or targets, for errors.
std::string rows_str(const xt::xtensor<float, 2>& rows) { return shape_str(Shape(rows.shape().begin(), rows.shape().end())); }

// Where the loss stopped being a number; caught by Trainer::run.
struct NonFiniteLoss {
    std::string where;
};

// The parameters the optimizer steps, which BatchGradients differentiates
// (grad() takes only tensors that require a gradient), in its order.
TensorList<float> trained_parameters(optim::Optimizer<float>& optimizer) {
    TensorList<float> params;
    for (const auto& p : optimizer.params())
        if (p.requires_grad()) params.push_back(p);
    return params;
}

void print_epoch_line(const EpochRecord& r, std::size_t epochs) {
    char accuracy[48] = "";  // none measured on targets
    if (!std::isnan(r.valid_accuracy)) std::snprintf(accuracy, sizeof accuracy, "  valid accuracy %.4f", r.valid_accuracy);
    std::printf("epoch %3.0f/%zu  train loss %.4f  valid loss %.4f%s  %.2fs\n", r.epoch, epochs, r.train_loss,
                r.valid_loss, accuracy, r.seconds);
    std::fflush(stdout);
}
}  // namespace

std::size_t default_shards() {
    const int blas = blas_threads();
    if (blas > 0) return std::size_t(blas);
    return std::max(1u, std::thread::hardware_concurrency());
}

Trainer::Trainer(nn::Module<float>& model, optim::Optimizer<float>& optimizer, const Dataset& train,
                 const Dataset& valid, TrainerOptions options)
    : model_(model), optimizer_(optimizer), train_(train), valid_(valid), options_(std::move(options)),
      early_stopping_(options_.early_stopping_patience()) {
    if (train_.size() == 0) throw Error("Trainer: the training set is empty");
    if (valid_.size() == 0) throw Error("Trainer: the validation set is empty");
    train_.check("Trainer: the training set");
    valid_.check("Trainer: the validation set");
    // A model's outputs are compared with one kind of answer, of one width.
    const auto answers = [](const Dataset& data) {
        return data.has_targets() ? "targets of shape " + rows_str(data.targets) : std::string("class labels");
    };
    if (train_.has_targets() != valid_.has_targets() ||
        (train_.has_targets() && train_.targets.shape()[1] != valid_.targets.shape()[1]))
        throw Error("Trainer: the training set has " + answers(train_) + " but the validation set " + answers(valid_));
}

Trainer& Trainer::transform_batches(BatchTransform transform) {
    transform_ = std::move(transform);
    return *this;
}

Trainer& Trainer::loss(Loss loss) {
    if (loss && train_.has_targets())
        throw Error("Trainer: loss() takes class labels, but the data sets have targets of shape " +
                    rows_str(train_.targets) + ": give their loss with target_loss()");
    loss_ = std::move(loss);
    return *this;
}

Trainer& Trainer::target_loss(TargetLoss loss) {
    if (loss && !train_.has_targets())
        throw Error("Trainer: target_loss() is for data sets with targets, but these have class labels: give "
                    "their loss with loss()");
    target_loss_ = std::move(loss);
    return *this;
}

Trainer& Trainer::on_epoch_end(EpochCallback callback) {
    on_epoch_end_ = std::move(callback);
    return *this;
}

Trainer& Trainer::distribute(Communicator& communicator, std::size_t bucket_bytes) {
    reducer_ = std::make_unique<GradientReducer<float>>(communicator, trained_parameters(optimizer_), bucket_bytes);
    communicator_ = &communicator;
    return *this;
}

// Processes that train otherwise (another batch size, seed, data set, model
// or resumed epoch) take other numbers of steps or sums of other sizes, and
// their collectives stop lining up: a hang, not an error. So each compares
// what decides its collectives with rank 0's first, and all of them throw.
void Trainer::check_processes_agree() {
    std::string text = options_.fingerprint() + "\n" + data_identity() + "\nepochs " +
                       std::to_string(options_.epochs()) + ", batch " + std::to_string(options_.batch_size()) +
                       ", seed " + std::to_string(options_.seed()) + ", shuffle " + std::to_string(options_.shuffle()) +
                       ", patience " + std::to_string(options_.early_stopping_patience()) + ", divergence " +
                       detail::option_value_text(options_.divergence_factor()) + ", clip " +
                       detail::option_value_text(options_.clip_grad_norm()) + ", resumed epochs " +
                       std::to_string(history_.size()) + "\nparameters";
    for (const Tensor<float>& p : model_.parameters()) text += " " + shape_str(p.shape());
    for (const Tensor<float>& b : model_.buffers()) text += " " + shape_str(b.shape());
    const std::uint32_t mine = std::uint32_t(crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(text.data()), text.size()));
    std::uint32_t rank0 = mine;
    communicator_->broadcast(&rank0, sizeof rank0);
    double differing = mine != rank0 ? 1 : 0;
    communicator_->allreduce_sum(&differing, 1);
    if (differing > 0)
        throw Error("Trainer: " + std::to_string(std::size_t(differing)) + " of " +
                    std::to_string(communicator_->size()) +
                    " processes train otherwise than rank 0 (options, data, model or resumed epochs; this one " +
                    (mine == rank0 ? "agrees" : "differs") + "): the job would hang");
}

Score Trainer::validate() {
    if (valid_.has_targets())
        return communicator_ ? evaluate(model_, valid_, target_loss_, *communicator_) : evaluate(model_, valid_, target_loss_);
    return communicator_ ? evaluate(model_, valid_, *communicator_) : evaluate(model_, valid_);
}

void Trainer::resume(const std::string& path) {
    detail::TrainerState state =
        detail::read_trainer_checkpoint(path, model_, optimizer_, options_, data_identity(), train_.has_targets());
    history_ = std::move(state.history);
    early_stopping_ = std::move(state.early_stopping);
    untrained_valid_loss_ = state.untrained_valid_loss;
}

Outcome Trainer::run() {
    if (train_.has_targets() && !target_loss_)
        throw Error("Trainer: the data sets have targets of shape " + rows_str(train_.targets) +
                    ", and no loss to compare them with: give one with target_loss()");
    // Training batches run in train(), validation in eval() (evaluate()); the
    // caller gets the model back in the modes it had.
    const TrainingModeGuard modes(model_);
    // Each run() reports its own end, not an earlier run's.
    non_finite_at_.clear();
    diverged_at_.clear();
    // Each step is its batch's gradient alone: nothing the caller left in
    // grad() may join the first (one process would add it, several drop it
    // or count it once per process).
    optimizer_.zero_grad();
    GradientPlan plan = GradientPlan().threads(options_.shards()).min_shard_work(options_.min_shard_work());
    if (communicator_) {
        plan.processes(*communicator_, *reducer_);
        check_processes_agree();
        // A process without rows of a batch takes part in the sums batch
        // norm makes over the processes by replaying the last batch's; one
        // without rows of the first batch could not, and the job would
        // hang. Every process decides alike.
        const std::size_t first_batch = std::min(options_.batch_size(), train_.size());
        if (first_batch < communicator_->size())
            throw Error("Trainer: a first batch of " + std::to_string(first_batch) + " rows leaves some of the " +
                        std::to_string(communicator_->size()) +
                        " processes without rows (batch norm's sums over the processes need them all); raise "
                        "batch_size to " + std::to_string(communicator_->size()) + " or more");
        // Every process starts from rank 0's weights.
        broadcast_from_rank0(*communicator_, model_.parameters());
        broadcast_from_rank0(*communicator_, model_.buffers());
    }
    // The shards' threads, made once for the whole run; the losses by
    // reference, so that one that keeps state keeps it across runs.
    BatchGradients gradients(model_, trained_parameters(optimizer_), train_,
                             loss_ ? LabelLoss(std::cref(loss_)) : LabelLoss(),
                             target_loss_ ? TargetLoss(std::cref(target_loss_)) : TargetLoss(), plan);
    if (untrained_valid_loss_ < 0) untrained_valid_loss_ = validate().loss;
    while (history_.size() < options_.epochs() && !early_stopping_.should_stop()) {
        const nn::StateDict<float> last_good = model_.state_dict();
        try {
            history_.push_back(train_epoch(history_.size() + 1, gradients));
        } catch (const NonFiniteLoss& stop) {
            model_.load_state(last_good);
            non_finite_at_ = stop.where;
            // Only with early stopping on is there a copy of the best weights
            // (restoring the empty copy when off threw "missing parameter").
            if (early_stopping_.enabled() && early_stopping_.has_best()) early_stopping_.restore_best(model_);
            return Outcome::NonFiniteLoss;
        }
        if (options_.verbose() && writer()) print_epoch_line(history_.back(), options_.epochs());
        if (on_epoch_end_) on_epoch_end_(history_.back());
        diverged_at_ = divergence(history_.size());
        if (!diverged_at_.empty()) {
            // The best epoch's weights are within the bound (they are the
            // lowest loss); without early stopping there is no copy to go back to.
            const bool best_within = early_stopping_.enabled() && early_stopping_.has_best() &&
                                     early_stopping_.best_epoch() < history_.size();
            if (best_within) early_stopping_.restore_best(model_);
            return Outcome::Diverged;
        }
        if (!options_.checkpoint().empty() && writer()) write_checkpoint();
    }
    if (early_stopping_.enabled() && early_stopping_.has_best()) early_stopping_.restore_best(model_);
    return early_stopping_.should_stop() ? Outcome::EarlyStopped : Outcome::AllEpochs;
}

std::string Trainer::divergence(std::size_t epoch) const {
    if (options_.divergence_factor() == 0) return "";
    const double loss = history_.back().valid_loss, bound = options_.divergence_factor() * untrained_valid_loss_;
    char text[160];
    // A bound only where the untrained loss gives a scale (above 0: a loss
    // that can be negative, a log-likelihood's, has none).
    if (untrained_valid_loss_ > 0 && loss > bound) {
        std::snprintf(text, sizeof text, "epoch %zu: validation loss %.6g > %g x %.6g (the untrained model's)", epoch,
                      loss, options_.divergence_factor(), untrained_valid_loss_);
        return text;
    }
    const auto params = model_.named_parameters();
    for (const auto& [name, param] : params) {
        const auto& values = param.data();
        if (!std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
            return "epoch " + std::to_string(epoch) + ": parameter '" + name + "' has non-finite values";
    }
    return "";
}

const std::string& Trainer::data_identity() const {
    if (data_identity_.empty()) data_identity_ = detail::describe_data(train_, valid_);
    return data_identity_;
}

EpochRecord Trainer::train_epoch(std::size_t epoch, BatchGradients& gradients) {
    LoaderOptions loader_options = LoaderOptions(options_.batch_size()).shuffle(options_.shuffle()).seed(options_.seed());
    if (communicator_) loader_options.shard(communicator_->rank(), communicator_->size());
    BatchLoader loader(train_, loader_options);
    loader.start_epoch(epoch - 1);
    std::optional<EpochProgress> progress;
    if (options_.verbose() && writer()) progress.emplace(epoch, options_.epochs(), loader.batches_per_epoch());
    Batch batch;
    // With shard threads and no transform, each shard gathers its own rows
    // of the data set, in parallel, rather than this thread the whole batch
    // for the shards to copy their rows out of it again.
    const bool shards_gather = options_.shards() > 1 && !transform_;
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0, batch_number = 0;

    model_.train();
    const auto start = std::chrono::steady_clock::now();
    {
        while (shards_gather ? loader.next_rows(batch) : loader.next(batch)) {
            ++batch_number;
            BatchTotals totals;
            {
                // What the batch draws (dropout's masks, on every shard and
                // process: each row's by its row in the whole batch).
                const SeedScope draws(batch_seed(options_.seed(), epoch, batch_number));
                totals = gradients.compute(batch, transformed(batch, epoch, batch_number));
            }
            if (!std::isfinite(totals.loss_sum))
                throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch_number)};
            // The whole batch's gradient is complete only here (shards and processes summed).
            if (options_.clip_grad_norm() > 0) nn::clip_grad_norm(optimizer_.params(), options_.clip_grad_norm());
            optimizer_.step();
            optimizer_.zero_grad();
            loss_sum += totals.loss_sum;
            correct += totals.correct;
            seen += batch.global_rows;  // the whole batch's rows, over all processes
            if (progress) progress->batch_done(batch_number, loss_sum / double(seen));
        }
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (progress) progress->finish();

    const Score valid = validate();
    if (!std::isfinite(valid.loss)) throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", validation"};
    early_stopping_.observe(epoch, valid.loss, model_);
    const double train_accuracy = train_.has_targets() ? std::numeric_limits<double>::quiet_NaN() /* none measured */
                                                       : double(correct) / double(seen);
    return {double(epoch), loss_sum / double(seen), train_accuracy, valid.loss, valid.accuracy, elapsed.count()};
}

Tensor<float> Trainer::transformed(const Batch& batch, std::size_t epoch, std::size_t batch_number) const {
    // A process's empty share of a short last batch has nothing to transform.
    if (!transform_ || batch.rows.empty()) return batch.inputs;
    Tensor<float> inputs = transform_(batch.inputs, epoch, batch_number);
    // Rows are matched to labels (or targets), and cut into shards, by their
    // number: a transform that dropped or added some would pair inputs with
    // the wrong labels (and shards read past its tensor).
    const std::size_t rows = batch.rows.size();
    if (!inputs.defined() || inputs.dim() == 0 || inputs.shape()[0] != rows)
        throw Error("Trainer: the batch transform of epoch " + std::to_string(epoch) + ", batch " +
                    std::to_string(batch_number) + " returned " +
                    (inputs.defined() ? "inputs of shape " + shape_str(inputs.shape()) : std::string("no tensor")) +
                    " for a batch of shape " + shape_str(batch.inputs.shape()) +
                    ": a transform must return one row per input row (axis 0), in order");
    return inputs;
}

void Trainer::write_checkpoint() const {
    detail::write_trainer_checkpoint(model_, optimizer_, options_, {history_, early_stopping_, untrained_valid_loss_},
                             data_identity());
}

}  // namespace tapegrad::train
