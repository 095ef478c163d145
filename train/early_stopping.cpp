#include <tapegrad/train/early_stopping.hpp>

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
        if (name.compare(0, weights_prefix.size(), weights_prefix) == 0)
            weights[name.substr(weights_prefix.size())] = xt::xarray<float>(xt::cast<float>(values));
    if (!weights.empty()) {
        try {
            model.check_state(weights);
        } catch (const Error& e) {
            throw Error("'" + path + "': best weights: " + e.what());
        }
    }
    // Every entry read before any is assigned: a failed restore changes nothing.
    const double best_loss = scalar(progress, best_loss_key, path);
    const double best_epoch = scalar(progress, best_epoch_key, path);
    const double counter = scalar(progress, counter_key, path);
    best_loss_ = best_loss;
    best_epoch_ = static_cast<std::size_t>(best_epoch);
    epochs_without_improvement_ = static_cast<std::size_t>(counter);
    best_weights_ = std::move(weights);
}

}  // namespace tapegrad::train
