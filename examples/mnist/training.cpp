#include "training.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/augment.hpp>
#include <tapegrad/data/loader.hpp>
#include "evaluate.hpp"
#include "progress.hpp"

namespace mnist {

namespace {
const std::string fingerprint_key = "training_settings";
// Streams of --seed; see main.cpp for the others.
constexpr std::uint64_t batch_order_stream = 2, shift_stream = 3;

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

std::size_t image_side(std::size_t pixels) {
    std::size_t side = 0;
    while ((side + 1) * (side + 1) <= pixels) ++side;
    return side * side == pixels ? side : 0;
}

Trainer::Trainer(tapegrad::nn::Module<float>& model, tapegrad::optim::Optimizer<float>& optimizer,
                 const tapegrad::Dataset& train, const tapegrad::Dataset& valid, const Options& options)
    : model_(model), optimizer_(optimizer), train_(train), valid_(valid), options_(options),
      early_stopping_(options.early_stop) {}

void Trainer::resume(const std::string& path) {
    // load_checkpoint restores model and optimizer all or nothing; a check
    // failing after it ends the program, so a mismatched state is never trained.
    tapegrad::nn::TrainingProgress progress = tapegrad::nn::load_checkpoint(path, model_, optimizer_);
    const std::string expected = training_fingerprint(options_);
    const auto found = progress.texts.find(fingerprint_key);
    if (found == progress.texts.end()) throw tapegrad::Error("'" + path + "': not a checkpoint of this program");
    if (found->second != expected)
        throw tapegrad::Error("'" + path + "': written with other training settings\n  checkpoint: " + found->second +
                              "\n  this run:   " + expected);
    history_ = restore_history(progress, path);
    early_stopping_.restore(progress, model_, path);
}

Outcome Trainer::run() {
    while (history_.size() < options_.epochs && !early_stopping_.should_stop()) {
        const tapegrad::nn::StateDict<float> last_good = model_.state_dict();
        try {
            history_.push_back(train_epoch(history_.size() + 1));
        } catch (const NonFiniteLoss& stop) {
            model_.load_state(last_good);
            std::fprintf(stderr, "mnist: the loss became non-finite at %s; stopped, keeping the weights of epoch %zu\n",
                         stop.where.c_str(), history_.size());
            if (early_stopping_.has_best()) early_stopping_.restore_best(model_);
            return Outcome::NonFiniteLoss;
        }
        print_epoch_line(history_.back(), options_.epochs);
        if (!options_.checkpoint.empty()) write_checkpoint();
    }
    if (early_stopping_.enabled() && early_stopping_.has_best()) {
        early_stopping_.restore_best(model_);
        std::fprintf(stderr, "mnist: kept the weights of epoch %zu (best validation loss %.4f)\n",
                     early_stopping_.best_epoch(), early_stopping_.best_loss());
    }
    return early_stopping_.should_stop() ? Outcome::EarlyStopped : Outcome::AllEpochs;
}

EpochRecord Trainer::train_epoch(std::size_t epoch) {
    const auto loader_options =
        tapegrad::LoaderOptions(options_.batch_size).seed(tapegrad::derive_seed(options_.seed, batch_order_stream));
    tapegrad::BatchLoader loader(train_, loader_options);
    loader.start_epoch(epoch - 1);
    EpochProgress progress(epoch, options_.epochs, loader.batches_per_epoch());
    tapegrad::Batch batch;
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0, batch_number = 0;

    model_.train();
    const std::size_t side = options_.shift > 0 ? image_side(train_.features()) : 0;
    // Each batch's shifts depend only on (seed, epoch, batch), so a resumed
    // run moves the images exactly as the uninterrupted one.
    const std::uint64_t epoch_shift_seed =
        tapegrad::derive_seed(tapegrad::derive_seed(options_.seed, shift_stream), epoch);
    const auto start = std::chrono::steady_clock::now();
    while (loader.next(batch)) {
        ++batch_number;
        const tapegrad::Tensor<float> inputs =
            options_.shift == 0 ? batch.inputs
                                : tapegrad::random_shift(batch.inputs, side, side, options_.shift,
                                                         tapegrad::derive_seed(epoch_shift_seed, batch_number));
        const tapegrad::Tensor<float> logits = model_(inputs);
        tapegrad::Tensor<float> loss = tapegrad::cross_entropy(logits, batch.labels);
        const double value = loss.item();
        if (!std::isfinite(value))
            throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch_number)};
        loss.backward();
        optimizer_.step();
        optimizer_.zero_grad();
        loss_sum += value * double(batch.labels.size());
        correct += count_correct(logits.data(), batch.labels);
        seen += batch.labels.size();
        progress.batch_done(batch_number, loss_sum / double(seen));
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    progress.finish();

    model_.eval();
    const Score valid = evaluate(model_, valid_);
    if (!std::isfinite(valid.loss)) throw NonFiniteLoss{"epoch " + std::to_string(epoch) + ", validation"};
    early_stopping_.observe(epoch, valid.loss, model_);
    return {double(epoch), loss_sum / double(seen), double(correct) / double(seen), valid.loss, valid.accuracy,
            elapsed.count()};
}

void Trainer::write_checkpoint() const {
    tapegrad::nn::TrainingProgress progress;
    progress.epoch = static_cast<std::int64_t>(history_.size());
    store_history(history_, progress);
    early_stopping_.store(progress);
    progress.texts[fingerprint_key] = training_fingerprint(options_);
    tapegrad::nn::save_checkpoint(options_.checkpoint, model_, optimizer_, progress);
}

}  // namespace mnist
