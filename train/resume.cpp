#include <tapegrad/train/resume.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>

#include <zlib.h>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/train/checkpoint.hpp>

namespace tapegrad::detail {

namespace {
const std::string fingerprint_key = "training_settings", data_key = "training_data",
                  untrained_loss_key = "divergence/untrained_valid_loss";

// One data set's part of describe_data().
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

std::string where_entry(const std::string& path, const std::string& entry) {
    return "'" + path + "', entry '" + entry + "'";
}

// The checks of read_trainer_checkpoint, after the checkpoint is loaded.
TrainerState checked(const std::string& path, const train::TrainingProgress& progress, const optim::Optimizer<float>& optimizer,
                     double configured_lr, const train::TrainerOptions& options, const std::string& data_identity,
                     bool on_targets, const nn::Module<float>& model) {
    const auto found = progress.texts.find(fingerprint_key);
    if (found == progress.texts.end()) throw Error("'" + path + "': not a checkpoint of this program");
    if (found->second != options.fingerprint())
        throw Error("'" + path + "': written with other training settings\n  checkpoint: " + found->second +
                    "\n  this run:   " + options.fingerprint());
    const auto data = progress.texts.find(data_key);
    if (data == progress.texts.end() || data->second != data_identity)
        throw Error("'" + path + "': written for other training data\n  checkpoint: " +
                    (data == progress.texts.end() ? std::string("(none)") : data->second) +
                    "\n  this run:   " + data_identity);
    // The trainer never changes the lr, so the checkpoint's is this run's.
    if (optimizer.lr() != configured_lr)
        throw Error(where_entry(path, "optim/scalar/lr") + ": lr " + detail::option_value_text(optimizer.lr()) +
                    ", but this run's optimizer has lr " + detail::option_value_text(configured_lr));
    if (progress.epoch < 1 || std::uint64_t(progress.epoch) > options.epochs())
        throw Error(where_entry(path, "meta/epoch") + ": " + std::to_string(progress.epoch) +
                    " epochs, but a trainer checkpoints after epochs 1 to " + std::to_string(options.epochs()) +
                    " (options.epochs)");
    TrainerState state;
    state.history = train::restore_history(progress, path);
    const train::History& history = state.history;
    // A run on class labels measures accuracies, one on targets none (NaN).
    for (std::size_t i = 0; i < history.size(); ++i)
        for (const auto& [name, value] : {std::pair<const char*, double>{"train_accuracy", history[i].train_accuracy},
                                          {"valid_accuracy", history[i].valid_accuracy}})
            if (std::isnan(value) != on_targets)
                throw Error(where_entry(path, std::string("meta/array/history/") + name) + ": " +
                            detail::option_value_text(value) + " at epoch " + std::to_string(i + 1) +
                            (on_targets ? ", but a run on targets measures no accuracy (NaN)"
                                        : ", but a run on class labels measures one in [0, 1]"));
    state.early_stopping = train::EarlyStopping(options.early_stopping_patience());
    state.early_stopping.restore(progress, model, path);
    // Every recorded epoch was observed: the best is the first epoch with
    // the lowest validation loss, and the counter runs from there.
    std::size_t best = 0;
    for (std::size_t i = 1; i < history.size(); ++i)
        if (history[i].valid_loss < history[best].valid_loss) best = i;
    const train::EarlyStopping& early_stopping = state.early_stopping;
    if (early_stopping.best_epoch() != best + 1 || early_stopping.best_loss() != history[best].valid_loss)
        throw Error("'" + path + "': early stopping's best epoch " + std::to_string(early_stopping.best_epoch()) +
                    " (loss " + detail::option_value_text(early_stopping.best_loss()) +
                    ") is not the history's, epoch " + std::to_string(best + 1) + " (loss " +
                    detail::option_value_text(history[best].valid_loss) + ")");
    const auto untrained = progress.scalars.find(untrained_loss_key);
    // Cross-entropy is >= 0; a target loss of the caller's may be negative
    // (a log-likelihood's).
    const bool can_be_negative = on_targets;
    if (untrained == progress.scalars.end() || !std::isfinite(untrained->second) ||
        (untrained->second < 0 && !can_be_negative))
        throw Error(where_entry(path, "meta/scalar/" + untrained_loss_key) +
                    (untrained == progress.scalars.end() ? std::string(": missing")
                                                         : ": " + detail::option_value_text(untrained->second) +
                                                               " is not a loss (finite" +
                                                               (can_be_negative ? ")" : ", >= 0)")));
    state.untrained_valid_loss = untrained->second;
    return state;
}
}  // namespace

std::string describe_data(const Dataset& train, const Dataset& valid) {
    return "train " + describe(train) + "; validation " + describe(valid);
}

void write_trainer_checkpoint(const nn::Module<float>& model, const optim::Optimizer<float>& optimizer,
                              const train::TrainerOptions& options, const TrainerState& state, const std::string& data) {
    train::TrainingProgress progress;
    progress.epoch = static_cast<std::int64_t>(state.history.size());
    train::store_history(state.history, progress);
    state.early_stopping.store(progress);
    progress.texts[fingerprint_key] = options.fingerprint();
    progress.texts[data_key] = data;
    progress.scalars[untrained_loss_key] = state.untrained_valid_loss;
    train::save_checkpoint(options.checkpoint(), model, optimizer, progress);
}

TrainerState read_trainer_checkpoint(const std::string& path, nn::Module<float>& model,
                                     optim::Optimizer<float>& optimizer, const train::TrainerOptions& options,
                                     const std::string& data, bool on_targets) {
    // load_checkpoint restores model and optimizer all or nothing, but the
    // checks after it can still fail: then they get their values back, so a
    // failed resume changes nothing.
    const nn::StateDict<float> model_before = model.state_dict();
    const optim::OptimizerState<float> optimizer_before = optimizer.state();
    const double configured_lr = optimizer.lr();
    try {
        const train::TrainingProgress progress = train::load_checkpoint(path, model, optimizer);
        return checked(path, progress, optimizer, configured_lr, options, data, on_targets, model);
    } catch (...) {
        model.load_state(model_before);
        optimizer.load_state(optimizer_before);
        throw;
    }
}

}  // namespace tapegrad::detail
