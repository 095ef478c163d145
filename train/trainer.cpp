#include <tapegrad/train/trainer.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/progress.hpp>

namespace tapegrad::train {

namespace {
const std::string fingerprint_key = "training_settings";

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

void TrainerOptions::validate() const {
    const std::string where = "TrainerOptions: ";
    if (epochs_ == 0) throw Error(where + "epochs must be > 0, got 0");
    if (batch_size_ == 0) throw Error(where + "batch_size must be > 0, got 0");
}

Trainer::Trainer(nn::Module<float>& model, optim::Optimizer<float>& optimizer, const Dataset& train,
                 const Dataset& valid, TrainerOptions options)
    : model_(model), optimizer_(optimizer), train_(train), valid_(valid), options_(std::move(options)),
      early_stopping_(options_.early_stopping_patience()) {
    options_.validate();
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

void Trainer::resume(const std::string& path) {
    // load_checkpoint restores model and optimizer all or nothing, but the
    // checks after it can still fail: then they get their values back, so a
    // failed resume changes nothing.
    const nn::StateDict<float> model_before = model_.state_dict();
    const optim::OptimizerState<float> optimizer_before = optimizer_.state();
    try {
        TrainingProgress progress = load_checkpoint(path, model_, optimizer_);
        const auto found = progress.texts.find(fingerprint_key);
        if (found == progress.texts.end()) throw Error("'" + path + "': not a checkpoint of this program");
        if (found->second != options_.fingerprint())
            throw Error("'" + path + "': written with other training settings\n  checkpoint: " + found->second +
                        "\n  this run:   " + options_.fingerprint());
        History history = restore_history(progress, path);
        EarlyStopping early_stopping(options_.early_stopping_patience());
        early_stopping.restore(progress, model_, path);
        history_ = std::move(history);
        early_stopping_ = std::move(early_stopping);
    } catch (...) {
        model_.load_state(model_before);
        optimizer_.load_state(optimizer_before);
        throw;
    }
}

Outcome Trainer::run() {
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
        if (options_.verbose()) print_epoch_line(history_.back(), options_.epochs());
        if (on_epoch_end_) on_epoch_end_(history_.back());
        if (!options_.checkpoint().empty()) write_checkpoint();
    }
    if (early_stopping_.enabled() && early_stopping_.has_best()) early_stopping_.restore_best(model_);
    return early_stopping_.should_stop() ? Outcome::EarlyStopped : Outcome::AllEpochs;
}

EpochRecord Trainer::train_epoch(std::size_t epoch) {
    BatchLoader loader(train_, LoaderOptions(options_.batch_size()).shuffle(options_.shuffle()).seed(options_.seed()));
    loader.start_epoch(epoch - 1);
    std::optional<EpochProgress> progress;
    if (options_.verbose()) progress.emplace(epoch, options_.epochs(), loader.batches_per_epoch());
    Batch batch;
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0, batch_number = 0;

    model_.train();
    const auto start = std::chrono::steady_clock::now();
    while (loader.next(batch)) {
        ++batch_number;
        const Tensor<float> inputs = transform_ ? transform_(batch.inputs, epoch, batch_number) : batch.inputs;
        const Tensor<float> logits = model_(inputs);
        Tensor<float> loss = loss_ ? loss_(logits, batch.labels) : cross_entropy(logits, batch.labels);
        const double value = loss.item();
        if (!std::isfinite(value))
            throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch_number)};
        loss.backward();
        optimizer_.step();
        optimizer_.zero_grad();
        loss_sum += value * double(batch.labels.size());
        correct += count_correct(logits.data(), batch.labels);
        seen += batch.labels.size();
        if (progress) progress->batch_done(batch_number, loss_sum / double(seen));
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (progress) progress->finish();

    model_.eval();
    const Score valid = evaluate(model_, valid_);
    if (!std::isfinite(valid.loss)) throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", validation"};
    early_stopping_.observe(epoch, valid.loss, model_);
    return {double(epoch), loss_sum / double(seen), double(correct) / double(seen), valid.loss, valid.accuracy,
            elapsed.count()};
}

void Trainer::write_checkpoint() const {
    TrainingProgress progress;
    progress.epoch = static_cast<std::int64_t>(history_.size());
    store_history(history_, progress);
    early_stopping_.store(progress);
    progress.texts[fingerprint_key] = options_.fingerprint();
    save_checkpoint(options_.checkpoint(), model_, optimizer_, progress);
}

}  // namespace tapegrad::train
