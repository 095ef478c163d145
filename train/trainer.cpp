#include <tapegrad/train/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <thread>

#include <zlib.h>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/batch_shard.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/clip_grad.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/progress.hpp>
#include <tapegrad/train/shard_sums.hpp>
#include <tapegrad/train/worker_pool.hpp>

namespace tapegrad::train {

namespace {
const std::string fingerprint_key = "training_settings", data_key = "training_data",
                  untrained_loss_key = "divergence/untrained_valid_loss";

// The seed stream of what training batches draw (dropout masks), apart from
// the loader's stream of epoch orders (derive_seed(seed, epoch)).
constexpr std::uint64_t batch_draws_stream = 0x6472'6f70'6f75'7473ULL;  // "dropouts"

// The seed of the SeedScope that training batch `batch` of epoch `epoch`
// (both 1-based) runs in: a function of them and TrainerOptions::seed alone,
// so a resumed run draws the masks the uninterrupted one drew.
std::uint64_t batch_seed(std::uint64_t seed, std::size_t epoch, std::size_t batch) {
    return derive_seed(derive_seed(derive_seed(seed, batch_draws_stream), epoch), batch);
}

// Rows [first, last) of a batch's inputs, a copy.
Tensor<float> rows_of(const Tensor<float>& inputs, std::size_t first, std::size_t last) {
    Shape shape = inputs.shape();
    const std::size_t row_size = shape[0] ? inputs.size() / shape[0] : 0;
    shape[0] = last - first;
    Array<float> rows = Array<float>::from_shape(shape);
    std::copy_n(inputs.data().data() + first * row_size, (last - first) * row_size, rows.data());
    return Tensor<float>(std::move(rows));
}

// What identifies a data set for resuming: its shape and the CRC-32 of its
// inputs and labels or targets (cheap next to an epoch; not a defence
// against forgery, which the checkpoint cannot offer anyway).
std::string describe(const Dataset& data) {
    const auto crc = [](const void* bytes, std::size_t size) {
        return crc32_z(crc32_z(0, nullptr, 0), static_cast<const Bytef*>(bytes), size);
    };
    char text[160];
    const int written = std::snprintf(text, sizeof text, "%zu x %zu, inputs crc32 %08lx", data.size(),
                                      data.size() ? data.features() : std::size_t(0),
                                      crc(data.inputs.data(), data.inputs.size() * sizeof(float)));
    if (data.has_targets())
        std::snprintf(text + written, sizeof text - std::size_t(written), ", targets x %zu crc32 %08lx",
                      data.targets.shape()[1], crc(data.targets.data(), data.targets.size() * sizeof(float)));
    else
        std::snprintf(text + written, sizeof text - std::size_t(written), ", labels crc32 %08lx",
                      crc(data.labels.data(), data.labels.size() * sizeof(data.labels[0])));
    return text;
}

// The shape of a data set's inputs, labels or targets, for errors.
std::string rows_str(const xt::xtensor<float, 2>& rows) { return shape_str(Shape(rows.shape().begin(), rows.shape().end())); }

std::string where_entry(const std::string& path, const std::string& entry) {
    return "'" + path + "', entry '" + entry + "'";
}

// Where the loss stopped being a number; caught by Trainer::run.
struct NonFiniteLoss {
    std::string where;
};

// The parameters the optimizer steps, which compute_gradients differentiates
// (grad() takes only tensors that require a gradient), in its order.
TensorList<float> trained_parameters(optim::Optimizer<float>& optimizer) {
    TensorList<float> params;
    for (const auto& p : optimizer.params())
        if (p.requires_grad()) params.push_back(p);
    return params;
}

// Adds gradients[0][i] + gradients[1][i] + ... (the first `count` lists,
// always in this order; undefined ones skipped) to params[i].grad().
void add_to_grads(const TensorList<float>& params, const std::vector<TensorList<float>>& gradients, std::size_t count) {
    const NoGradGuard no_grad;
    for (std::size_t i = 0; i < params.size(); ++i) {
        Tensor<float> sum = params[i].grad();
        for (std::size_t s = 0; s < count; ++s) {
            const Tensor<float>& g = gradients[s][i];
            if (g.defined()) sum = sum.defined() ? add(sum, g) : g;
        }
        if (sum.defined()) Tensor<float>(params[i]).set_grad(sum);
    }
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

void Trainer::broadcast_state(bool parameters) {
    const auto broadcast = [this](const std::vector<Tensor<float>>& tensors) {
        for (Tensor<float> t : tensors) communicator_->broadcast(t.data_mut().data(), t.size() * sizeof(float));
    };
    if (parameters) broadcast(model_.parameters());
    broadcast(model_.buffers());
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
    // load_checkpoint restores model and optimizer all or nothing, but the
    // checks after it can still fail: then they get their values back, so a
    // failed resume changes nothing.
    const nn::StateDict<float> model_before = model_.state_dict();
    const optim::OptimizerState<float> optimizer_before = optimizer_.state();
    const double configured_lr = optimizer_.lr();
    try {
        TrainingProgress progress = load_checkpoint(path, model_, optimizer_);
        const auto found = progress.texts.find(fingerprint_key);
        if (found == progress.texts.end()) throw Error("'" + path + "': not a checkpoint of this program");
        if (found->second != options_.fingerprint())
            throw Error("'" + path + "': written with other training settings\n  checkpoint: " + found->second +
                        "\n  this run:   " + options_.fingerprint());
        const auto data = progress.texts.find(data_key);
        if (data == progress.texts.end() || data->second != data_identity())
            throw Error("'" + path + "': written for other training data\n  checkpoint: " +
                        (data == progress.texts.end() ? std::string("(none)") : data->second) +
                        "\n  this run:   " + data_identity());
        // The trainer never changes the lr, so the checkpoint's is this run's.
        if (optimizer_.lr() != configured_lr)
            throw Error(where_entry(path, "optim/scalar/lr") + ": lr " + detail::option_value_text(optimizer_.lr()) +
                        ", but this run's optimizer has lr " + detail::option_value_text(configured_lr));
        if (progress.epoch < 1 || std::uint64_t(progress.epoch) > options_.epochs())
            throw Error(where_entry(path, "meta/epoch") + ": " + std::to_string(progress.epoch) +
                        " epochs, but a trainer checkpoints after epochs 1 to " + std::to_string(options_.epochs()) +
                        " (options.epochs)");
        History history = restore_history(progress, path);
        // A run on class labels measures accuracies, one on targets none (NaN).
        for (std::size_t i = 0; i < history.size(); ++i)
            for (const auto& [name, value] : {std::pair<const char*, double>{"train_accuracy", history[i].train_accuracy},
                                              {"valid_accuracy", history[i].valid_accuracy}})
                if (std::isnan(value) != train_.has_targets())
                    throw Error(where_entry(path, std::string("meta/array/history/") + name) + ": " +
                                detail::option_value_text(value) + " at epoch " + std::to_string(i + 1) +
                                (train_.has_targets() ? ", but a run on targets measures no accuracy (NaN)"
                                                      : ", but a run on class labels measures one in [0, 1]"));
        EarlyStopping early_stopping(options_.early_stopping_patience());
        early_stopping.restore(progress, model_, path);
        // Every recorded epoch was observed: the best is the first epoch with
        // the lowest validation loss, and the counter runs from there.
        std::size_t best = 0;
        for (std::size_t i = 1; i < history.size(); ++i)
            if (history[i].valid_loss < history[best].valid_loss) best = i;
        if (early_stopping.best_epoch() != best + 1 || early_stopping.best_loss() != history[best].valid_loss)
            throw Error("'" + path + "': early stopping's best epoch " + std::to_string(early_stopping.best_epoch()) +
                        " (loss " + detail::option_value_text(early_stopping.best_loss()) +
                        ") is not the history's, epoch " + std::to_string(best + 1) + " (loss " +
                        detail::option_value_text(history[best].valid_loss) + ")");
        const auto untrained = progress.scalars.find(untrained_loss_key);
        // Cross-entropy is >= 0; a target loss of the caller's may be
        // negative (a log-likelihood's).
        const bool can_be_negative = train_.has_targets();
        if (untrained == progress.scalars.end() || !std::isfinite(untrained->second) ||
            (untrained->second < 0 && !can_be_negative))
            throw Error(where_entry(path, "meta/scalar/" + untrained_loss_key) +
                        (untrained == progress.scalars.end() ? std::string(": missing")
                                                             : ": " + detail::option_value_text(untrained->second) +
                                                                   " is not a loss (finite" +
                                                                   (can_be_negative ? ")" : ", >= 0)")));
        history_ = std::move(history);
        early_stopping_ = std::move(early_stopping);
        untrained_valid_loss_ = untrained->second;
    } catch (...) {
        model_.load_state(model_before);
        optimizer_.load_state(optimizer_before);
        throw;
    }
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
    replica_sum_counts_.clear();
    if (communicator_) {
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
        broadcast_state(/*parameters=*/true);  // every process starts from rank 0's weights
    }
    // The shards' threads, made once for the whole run.
    struct Workers {
        Trainer& trainer;
        ~Workers() {
            trainer.workers_.reset();
            trainer.shard_grads_.clear();
        }
    } workers{*this};
    if (options_.shards() > 1) {
        workers_ = std::make_shared<tapegrad::detail::WorkerPool>(options_.shards());
        work_per_row_ = -1;  // measured on the first batch (compute_gradients)
    }
    if (untrained_valid_loss_ < 0) untrained_valid_loss_ = validate().loss;
    while (history_.size() < options_.epochs() && !early_stopping_.should_stop()) {
        const nn::StateDict<float> last_good = model_.state_dict();
        try {
            history_.push_back(train_epoch(history_.size() + 1));
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
    if (data_identity_.empty()) data_identity_ = "train " + describe(train_) + "; validation " + describe(valid_);
    return data_identity_;
}

EpochRecord Trainer::train_epoch(std::size_t epoch) {
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
    const bool shards_gather = workers_ && !transform_;
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0, batch_number = 0;

    model_.train();
    const auto start = std::chrono::steady_clock::now();
    {
        while (shards_gather ? loader.next_rows(batch) : loader.next(batch)) {
            ++batch_number;
            // The rows of the whole batch (over all processes: this one has its share).
            const std::size_t batch_rows = std::min(options_.batch_size(), train_.size() - seen);
            BatchTotals totals;
            if (communicator_) {
                totals = distributed_gradients(batch, epoch, batch_number, batch_rows);
            } else {
                const SeedScope draws(batch_seed(options_.seed(), epoch, batch_number));
                const Tensor<float> inputs = transformed(batch, epoch, batch_number);
                totals = compute_gradients(inputs, batch, 0, batch_rows, epoch, batch_number, batch_rows, 0);
            }
            // The whole batch's gradient is complete only here (shards and processes summed).
            if (options_.clip_grad_norm() > 0) nn::clip_grad_norm(optimizer_.params(), options_.clip_grad_norm());
            optimizer_.step();
            optimizer_.zero_grad();
            loss_sum += totals.loss_sum;
            correct += totals.correct;
            seen += batch_rows;
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
    if (!transform_) return batch.inputs;
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

double Trainer::forward_work_per_row(const Tensor<float>& inputs) {
    // Evaluation: no running statistics change, no dropout draws; the
    // batch's own forward (in training mode) comes next.
    model_.eval();
    struct BackToTraining {
        nn::Module<float>& model;
        ~BackToTraining() { model.train(); }
    } back{model_};
    const NoGradGuard no_graph;
    const ProductWorkCounter work;
    model_(inputs);
    return double(work.multiply_adds()) / double(inputs.shape()[0]);
}

Trainer::BatchTotals Trainer::compute_gradients(const Tensor<float>& inputs, const Batch& rows_of_batch,
                                                std::size_t begin, std::size_t end, std::size_t epoch,
                                                std::size_t batch, std::size_t batch_rows, std::size_t first_row) {
    const Labels& labels = rows_of_batch.labels;
    const Tensor<float>& targets = rows_of_batch.targets;  // defined for a data set with targets
    const std::size_t rows = rows_of_batch.rows.size();
    // The loss of `outputs` for some rows of the batch, given their labels
    // or their targets (whichever the data set has), and how many of them
    // the outputs classify correctly (none counted on targets).
    const auto loss_of = [this](const Tensor<float>& outputs, const Labels& their_labels, const Tensor<float>& their_targets) {
        if (their_targets.defined()) return target_loss_(outputs, their_targets);
        return loss_ ? loss_(outputs, their_labels) : cross_entropy(outputs, their_labels);
    };
    const auto correct_of = [](const Tensor<float>& outputs, const Labels& their_labels, const Tensor<float>& their_targets) {
        return their_targets.defined() ? std::size_t(0) : count_correct(outputs.data(), their_labels);
    };
    // Rows [first, last) of the batch's inputs: cut from `inputs`, or, where
    // the loader gathered none, gathered from the data set.
    const auto inputs_of = [&](std::size_t first, std::size_t last) {
        if (!inputs.defined()) return gather_inputs(train_, rows_of_batch.rows.data() + first, last - first);
        return first == 0 && last == rows ? inputs : rows_of(inputs, first, last);
    };
    const auto non_finite = [&] {
        return NonFiniteLoss{"epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch)};
    };
    // At least two rows a shard (a short last batch of 3 rows runs whole),
    // and at least min_shard_work a shard: a thread of its own does not pay
    // for less (TrainerOptions::min_shard_work). The work per row is
    // measured on the run's first batch, as the model sees it (transformed).
    if (work_per_row_ < 0)
        work_per_row_ = options_.min_shard_work() > 0 ? forward_work_per_row(inputs_of(begin, end)) : 0;
    const double work = work_per_row_ * double(end - begin);
    const std::size_t by_work = options_.min_shard_work() == 0 || work >= double(options_.shards()) * double(options_.min_shard_work())
                                    ? options_.shards()
                                    : std::max<std::size_t>(1, std::size_t(work / double(options_.min_shard_work())));
    const std::size_t shards = std::min(
        {by_work, std::max<std::size_t>((end - begin) / 2, 1), workers_ ? workers_->size() : 1});
    // Batch norm normalises with the whole batch's statistics: summed over
    // the shards (threads) and the processes (autograd/batch_shard.hpp).
    train::Communicator* const processes = communicator_ && communicator_->size() > 1 ? communicator_ : nullptr;
    if (shards == 1 && begin == 0 && end == rows) {
        // The whole batch (or this process's share) on this thread, in the
        // batch's SeedScope (opened by the caller): no copy, gradients
        // straight into grad(), weighted only when the batch is shared.
        std::optional<nn::FrozenRunningStatsGuard> frozen;
        if (first_row != 0) frozen.emplace();
        // A batch too small to split (under min_shard_work, or 3 rows on 2
        // threads) runs as with shards(1): products on the BLAS's threads,
        // which measured faster than one thread's alone (bench/README.md).
        // This process's rows of a batch shared by the processes start at
        // first_row: dropout's masks and batch norm's sums see them there.
        std::optional<tapegrad::detail::ShardSums> sums;
        std::optional<BatchShardGuard> shard;
        if (communicator_) shard.emplace(sums.emplace(1, processes).shard(0, first_row, rows));
        const Tensor<float> logits = model_(inputs_of(0, rows));
        Tensor<float> loss = loss_of(logits, labels, targets);
        const double value = loss.item();
        // Once the forward has summed over the processes, so must backward
        // (batch norm's gradient): the others wait for this one's part.
        const bool summing = sums && sums->calls(0) > 0;
        if (!std::isfinite(value) && !summing) throw non_finite();
        const Tensor<float> weighted = rows == batch_rows ? loss : loss * float(double(rows) / double(batch_rows));
        if (summing) {
            // As the shards compute it (grad() over the optimizer's
            // parameters), so that every process runs the same gradient
            // formulas, and so batch norm's same sums, whichever way its
            // share of the batch runs. No hook: the gradients' sums must not
            // start between batch norm's, where a sharded process starts none.
            const TensorList<float> params = trained_parameters(optimizer_);
            shard_grads_.resize(std::max<std::size_t>(shard_grads_.size(), 1));
            shard_grads_[0] = grad(weighted, params, Tensor<float>(), false, false, /*allow_unused=*/true);
            add_to_grads(params, shard_grads_, 1);
            shard_grads_[0].clear();
        } else if (reducer_) {
            // The gradients' sums start while backward runs.
            const auto hook = reducer_->hook();
            weighted.backward();
        } else {
            weighted.backward();
        }
        if (sums) replica_sum_counts_ = sums->counts();
        if (!std::isfinite(value)) throw non_finite();
        return {value * double(rows), correct_of(logits, labels, targets)};
    }

    const TensorList<float> params = trained_parameters(optimizer_);
    std::vector<BatchTotals> totals_of(shards);
    shard_grads_.resize(std::max(shard_grads_.size(), shards));
    const bool anomaly = anomaly_detection_enabled();
    tapegrad::detail::ShardSums sums(shards, processes);
    const auto run_shard_alone = [&](std::size_t s) {
        // The previous batch's gradients of this shard, freed by the thread
        // that made them: the per-thread allocator caches then stay in
        // balance (frees on another thread would grow that thread's cache
        // while this one asks the system for more).
        shard_grads_[s].clear();
        const auto [shard_first, shard_last] = shard_rows(end - begin, s, shards);
        const std::size_t first = begin + shard_first, last = begin + shard_last;
        // Every shard draws the batch's seeds (as one thread would, from the
        // same scope), and dropout numbers its mask's rows in the batch.
        const SeedScope draws(batch_seed(options_.seed(), epoch, batch));
        // Only the shard at the batch's first row updates batch norm's
        // running statistics (all shards compute the same ones).
        std::optional<nn::FrozenRunningStatsGuard> frozen;
        if (first_row + first != 0) frozen.emplace();
        std::optional<DetectAnomalyGuard> checks;  // the caller's thread-local setting, on this thread too
        if (anomaly) checks.emplace();
        // The shards share the cores: each one's products on its own thread,
        // without touching the BLAS's process-wide thread count, which other
        // threads of the program may be using (blas.hpp).
        std::optional<OneThreadProductsGuard> one_thread_products;
        if (workers_) one_thread_products.emplace();
        const BatchShardGuard shard(sums.shard(s, first_row + first, last - first));
        const Labels shard_labels = targets.defined() ? Labels() : Labels(labels.begin() + std::ptrdiff_t(first),
                                                                            labels.begin() + std::ptrdiff_t(last));
        const Tensor<float> shard_targets = targets.defined() ? rows_of(targets, first, last) : Tensor<float>();
        const Tensor<float> logits = model_(inputs_of(first, last));
        Tensor<float> loss = loss_of(logits, shard_labels, shard_targets);
        const double value = loss.item();
        // After sums in the forward, the other shards wait for this one's
        // part of backward's: it goes on, and the batch is dropped after.
        if (!std::isfinite(value) && sums.calls(s) == 0) throw non_finite();
        // The rows' share of the batch mean.
        const float weight = float(double(last - first) / double(batch_rows));
        shard_grads_[s] = grad(loss * weight, params, Tensor<float>(), false, false, /*allow_unused=*/true);
        if (!std::isfinite(value)) throw non_finite();
        totals_of[s] = {value * double(last - first), correct_of(logits, shard_labels, shard_targets)};
    };
    const auto run_shard = [&](std::size_t s) {
        try {
            run_shard_alone(s);
            sums.leave(s);
        } catch (...) {
            // The shard that failed reports; those it woke return quietly.
            if (sums.woken_by_abort(s)) return;
            sums.abort();  // no shard may wait for this one's sums
            throw;
        }
    };
    if (shards == 1)
        run_shard(0);
    else
        workers_->run(shards, run_shard);
    replica_sum_counts_ = sums.counts();

    // Shard 0 + shard 1 + ..., always in this order, added to what grad() held.
    BatchTotals totals;
    for (const BatchTotals& shard : totals_of) {
        totals.loss_sum += shard.loss_sum;
        totals.correct += shard.correct;
    }
    add_to_grads(params, shard_grads_, shards);
    return totals;
}

Trainer::BatchTotals Trainer::distributed_gradients(const Batch& batch, std::size_t epoch, std::size_t batch_number,
                                                    std::size_t batch_rows) {
    const std::size_t rows = batch.rows.size(), rank = communicator_->rank(), size = communicator_->size();
    // Where this process's rows start in the whole batch (LoaderOptions::shard).
    const std::size_t first_row = shard_rows(batch_rows, rank, size).first;
    // Draws as one process would: the batch's seeds, each row's dropout
    // mask by its number in the batch (compute_gradients).
    const SeedScope draws(batch_seed(options_.seed(), epoch, batch_number));
    reducer_->begin_step();
    BatchTotals totals;
    if (rows > 0) {  // a process's share of a short last batch may be empty
        const Tensor<float> inputs = transformed(batch, epoch, batch_number);
        try {
            totals = compute_gradients(inputs, batch, 0, rows, epoch, batch_number, batch_rows, first_row);
        } catch (const NonFiniteLoss&) {
            // Decided with the other processes below: they must not wait for this one.
            totals.loss_sum = std::numeric_limits<double>::quiet_NaN();
        }
    } else {
        // The others' batch norm sums still count on this process: zeros,
        // for each sum the model made in the last batch (run() checked that
        // every process has rows of the first).
        tapegrad::detail::ShardSums::replay_without_rows(*communicator_, replica_sum_counts_);
    }
    const std::vector<double> sums = reducer_->finish({totals.loss_sum, double(totals.correct)});
    // Buffers (batch norm's running statistics) are rank 0's, which its rows
    // updated (the first of the batch: the others' stay frozen), as PyTorch's
    // DDP broadcasts them; for validation too.
    broadcast_state(/*parameters=*/false);
    if (!std::isfinite(sums[0])) {
        optimizer_.zero_grad();
        throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch_number)};
    }
    return {sums[0], static_cast<std::size_t>(sums[1])};
}

void Trainer::write_checkpoint() const {
    TrainingProgress progress;
    progress.epoch = static_cast<std::int64_t>(history_.size());
    store_history(history_, progress);
    early_stopping_.store(progress);
    progress.texts[fingerprint_key] = options_.fingerprint();
    progress.texts[data_key] = data_identity();
    progress.scalars[untrained_loss_key] = untrained_valid_loss_;
    save_checkpoint(options_.checkpoint(), model_, optimizer_, progress);
}

}  // namespace tapegrad::train
