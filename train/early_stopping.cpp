#include <tapegrad/train/early_stopping.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <tapegrad/autograd/options.hpp>

namespace tapegrad::train {

namespace {
const std::string weights_prefix = "best/";
const std::string best_loss_key = "early_stopping/best_loss", best_epoch_key = "early_stopping/best_epoch",
                  counter_key = "early_stopping/epochs_without_improvement";

double scalar(const TrainingProgress& progress, const std::string& key, const std::string& path) {
    const auto found = progress.scalars.find(key);
    if (found == progress.scalars.end()) throw Error("'" + path + "': no entry '" + key + "'");
    return found->second;
}
}  // namespace

void EarlyStopping::observe(std::size_t epoch, double valid_loss, const nn::Module<float>& model) {
    if (valid_loss < best_loss_) {
        best_loss_ = valid_loss;
        best_epoch_ = epoch;
        epochs_without_improvement_ = 0;
        if (enabled()) best_weights_ = model.state_dict();
    } else {
        ++epochs_without_improvement_;
    }
}

void EarlyStopping::store(TrainingProgress& progress) const {
    progress.scalars[best_loss_key] = best_loss_;
    progress.scalars[best_epoch_key] = static_cast<double>(best_epoch_);
    progress.scalars[counter_key] = static_cast<double>(epochs_without_improvement_);
    // float32 -> float64 -> float32 is exact, so the weights come back bit for bit.
    for (const auto& [name, weights] : best_weights_)
        progress.arrays[weights_prefix + name] = xt::xarray<double>(xt::cast<double>(weights));
}

void EarlyStopping::restore(const TrainingProgress& progress, const nn::Module<float>& model,
                            const std::string& path) {
    nn::StateDict<float> weights;
    for (const auto& [name, values] : progress.arrays)
        if (name.compare(0, weights_prefix.size(), weights_prefix) == 0) {
            // Stored from float32 weights of an epoch with a finite loss: a
            // value float32 cannot hold was not written by store().
            for (double v : values)
                if (!(std::fabs(v) <= double(std::numeric_limits<float>::max())))
                    throw Error("'" + path + "', entry 'meta/array/" + name + "': " + detail::option_value_text(v) +
                                " is not a finite float32 weight");
            weights[name.substr(weights_prefix.size())] = xt::xarray<float>(xt::cast<float>(values));
        }
    if (!weights.empty()) {
        try {
            model.check_state(weights);
        } catch (const Error& e) {
            throw Error("'" + path + "': best weights: " + e.what());
        }
    }
    // Every entry read and checked before any is assigned: a failed restore
    // changes nothing. The values come from a file, so each must be one that
    // observe() can have produced over progress.epoch epochs.
    const auto entry = [&](const std::string& key) { return "'" + path + "', entry 'meta/scalar/" + key + "'"; };
    const double best_loss = scalar(progress, best_loss_key, path);
    const double best_epoch = scalar(progress, best_epoch_key, path);
    const double counter = scalar(progress, counter_key, path);
    const double epochs = double(std::max<std::int64_t>(progress.epoch, 0));
    for (const auto& [key, value] : {std::pair{best_epoch_key, best_epoch}, std::pair{counter_key, counter}})
        if (!allowed::exact_count(value) || value > epochs)
            throw Error(entry(key) + ": must be a whole number from 0 to the " + detail::option_value_text(epochs) +
                        " epochs of entry 'meta/epoch', got " + detail::option_value_text(value));
    if (best_epoch == 0 ? best_loss != std::numeric_limits<double>::infinity() : !std::isfinite(best_loss))
        throw Error(entry(best_loss_key) + ": " + detail::option_value_text(best_loss) +
                    (best_epoch == 0 ? " with no best epoch (expected inf)" : " is not a finite loss"));
    if (best_epoch + counter > epochs)
        throw Error(entry(counter_key) + ": " + detail::option_value_text(counter) + " epochs without improvement after " +
                    "best epoch " + detail::option_value_text(best_epoch) + " exceed the " +
                    detail::option_value_text(epochs) + " epochs of entry 'meta/epoch'");
    // The copy of the best weights exists exactly when early stopping is on and has a best epoch.
    const bool expect_weights = enabled() && best_epoch > 0;
    if (weights.empty() == expect_weights)
        throw Error("'" + path + "': " +
                    (expect_weights ? "no best weights ('meta/array/" + weights_prefix + "...') for best epoch " +
                                          detail::option_value_text(best_epoch)
                                    : "best weights ('meta/array/" + weights_prefix +
                                          "...') although early stopping is off or has no best epoch"));
    best_loss_ = best_loss;
    best_epoch_ = static_cast<std::size_t>(best_epoch);
    epochs_without_improvement_ = static_cast<std::size_t>(counter);
    best_weights_ = std::move(weights);
}

}  // namespace tapegrad::train
