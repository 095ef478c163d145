#include <tapegrad/train/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include <zlib.h>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/progress.hpp>

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

// What identifies a data set for resuming: its shape and the CRC-32 of its
// inputs and labels (cheap next to an epoch; not a defence against forgery,
// which the checkpoint cannot offer anyway).
std::string describe(const Dataset& data) {
    const auto crc = [](const void* bytes, std::size_t size) {
        return crc32_z(crc32_z(0, nullptr, 0), static_cast<const Bytef*>(bytes), size);
    };
    char text[128];
    std::snprintf(text, sizeof text, "%zu x %zu, inputs crc32 %08lx, labels crc32 %08lx", data.size(),
                  data.size() ? data.features() : std::size_t(0), crc(data.inputs.data(), data.inputs.size() * sizeof(float)),
                  crc(data.labels.data(), data.labels.size() * sizeof(data.labels[0])));
    return text;
}

std::string where_entry(const std::string& path, const std::string& entry) {
    return "'" + path + "', entry '" + entry + "'";
}

// Where the loss stopped being a number; caught by Trainer::run.
struct NonFiniteLoss {
    std::string where;
};

void print_epoch_line(const EpochRecord& r, std::size_t epochs) {
    std::printf("epoch %3.0f/%zu  train loss %.4f  valid loss %.4f  valid accuracy %.4f  %.2fs\n", r.epoch, epochs,
                r.train_loss, r.valid_loss, r.valid_accuracy, r.seconds);
    std::fflush(stdout);
}
}  // namespace

Trainer::Trainer(nn::Module<float>& model, optim::Optimizer<float>& optimizer, const Dataset& train,
                 const Dataset& valid, TrainerOptions options)
    : model_(model), optimizer_(optimizer), train_(train), valid_(valid), options_(std::move(options)),
      early_stopping_(options_.early_stopping_patience()) {
    if (train_.size() == 0) throw Error("Trainer: the training set is empty");
    if (valid_.size() == 0) throw Error("Trainer: the validation set is empty");
}

Trainer& Trainer::transform_batches(BatchTransform transform) {
    transform_ = std::move(transform);
    return *this;
}

Trainer& Trainer::loss(Loss loss) {
    loss_ = std::move(loss);
    return *this;
}

Trainer& Trainer::on_epoch_end(EpochCallback callback) {
    on_epoch_end_ = std::move(callback);
    return *this;
}

Trainer& Trainer::distribute(Communicator& communicator, std::size_t bucket_bytes) {
    // The step's loss rides along with the gradients (one extra number), so
    // that every process sees the global batch's loss and stops on a
    // non-finite one together.
    reducer_ = std::make_unique<GradientReducer<float>>(communicator, model_.parameters(), 1, bucket_bytes);
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

Score Trainer::validate() { return communicator_ ? evaluate(model_, valid_, *communicator_) : evaluate(model_, valid_); }

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
        if (untrained == progress.scalars.end() || !std::isfinite(untrained->second) || untrained->second < 0)
            throw Error(where_entry(path, "meta/scalar/" + untrained_loss_key) +
                        (untrained == progress.scalars.end()
                             ? std::string(": missing")
                             : ": " + detail::option_value_text(untrained->second) + " is not a loss (finite, >= 0)"));
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
    // Training batches run in train(), validation in eval() (evaluate()); the
    // caller gets the model back in the modes it had.
    const TrainingModeGuard modes(model_);
    if (communicator_) broadcast_state(/*parameters=*/true);  // every process starts from rank 0's weights
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
    if (loss > bound) {
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
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0, batch_number = 0;

    model_.train();
    const auto start = std::chrono::steady_clock::now();
    while (loader.next(batch)) {
        ++batch_number;
        // The rows of the whole batch, over all processes.
        const std::size_t global_rows = std::min(options_.batch_size(), train_.size() - seen);
        loss_sum += train_step(batch, epoch, batch_number, global_rows, correct) * double(global_rows);
        seen += global_rows;
        if (progress) progress->batch_done(batch_number, loss_sum / double(seen));
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (progress) progress->finish();
    // Each process counted the answers of its own rows.
    double correct_sum = double(correct);
    if (communicator_) communicator_->allreduce_sum(&correct_sum, 1);

    const Score valid = validate();
    if (!std::isfinite(valid.loss)) throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", validation"};
    early_stopping_.observe(epoch, valid.loss, model_);
    return {double(epoch), loss_sum / double(seen), correct_sum / double(seen), valid.loss, valid.accuracy,
            elapsed.count()};
}

double Trainer::train_step(const Batch& batch, std::size_t epoch, std::size_t batch_number, std::size_t global_rows,
                           std::size_t& correct) {
    const std::size_t rows = batch.labels.size();
    const auto non_finite = [&] {
        return NonFiniteLoss{"epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch_number)};
    };
    std::uint64_t seed = batch_seed(options_.seed(), epoch, batch_number);
    // Each process draws its own masks for its own rows.
    if (communicator_ && communicator_->size() > 1) seed = derive_seed(seed, communicator_->rank());
    const SeedScope draws(seed);
    if (communicator_) broadcast_state(/*parameters=*/false);
    Tensor<float> loss;
    double value = 0;
    if (rows > 0) {  // a process's share of a short last batch may be empty
        const Tensor<float> inputs = transform_ ? transform_(batch.inputs, epoch, batch_number) : batch.inputs;
        const Tensor<float> logits = model_(inputs);
        loss = loss_ ? loss_(logits, batch.labels) : cross_entropy(logits, batch.labels);
        value = loss.item();
        correct += count_correct(logits.data(), batch.labels);
    }
    if (!communicator_) {
        if (!std::isfinite(value)) throw non_finite();
        loss.backward();
    } else {
        // Weighted by its share, the processes' losses add up to the global
        // batch's mean, and so do their gradients.
        const double share = double(rows) / double(global_rows);
        reducer_->begin_step({value * share});
        if (rows > 0) {
            const auto hook = reducer_->hook();
            mul(loss, Tensor<float>::scalar(float(share))).backward();
        }
        value = reducer_->finish()[0];  // the same on every process: all stop together
        if (!std::isfinite(value)) {
            optimizer_.zero_grad();
            throw non_finite();
        }
    }
    optimizer_.step();
    optimizer_.zero_grad();
    return value;
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
