#include <tapegrad/train/history.hpp>

#include <cmath>
#include <cstdio>
#include <iterator>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::train {

namespace {
// One table drives the CSV header, the CSV rows and the checkpoint arrays.
struct Column {
    const char* name;
    double EpochRecord::*field;
    const char* format;
};
const Column columns[] = {
    {"epoch", &EpochRecord::epoch, "%.0f"},
    {"train_loss", &EpochRecord::train_loss, "%.6f"},
    {"train_accuracy", &EpochRecord::train_accuracy, "%.6f"},
    {"valid_loss", &EpochRecord::valid_loss, "%.6f"},
    {"valid_accuracy", &EpochRecord::valid_accuracy, "%.6f"},
    {"seconds", &EpochRecord::seconds, "%.3f"},
};
const std::string history_prefix = "history/";
}  // namespace

std::string to_csv(const History& history) {
    const std::size_t last = std::size(columns) - 1;
    std::string csv;
    for (std::size_t c = 0; c <= last; ++c) csv += std::string(columns[c].name) + (c < last ? "," : "\n");
    char cell[64];
    for (const EpochRecord& record : history)
        for (std::size_t c = 0; c <= last; ++c) {
            // NaN: not measured (the accuracies of a run on targets), an empty cell.
            const double value = record.*columns[c].field;
            if (!std::isnan(value)) std::snprintf(cell, sizeof cell, columns[c].format, value);
            csv += std::isnan(value) ? "" : cell;
            csv += c < last ? ',' : '\n';
        }
    return csv;
}

void store_history(const History& history, TrainingProgress& progress) {
    for (const Column& column : columns) {
        xt::xarray<double> values = xt::xarray<double>::from_shape({history.size()});
        for (std::size_t i = 0; i < history.size(); ++i) values(i) = history[i].*column.field;
        progress.arrays[history_prefix + column.name] = values;
    }
}

History restore_history(const TrainingProgress& progress, const std::string& path) {
    if (progress.epoch < 0)
        throw Error("'" + path + "': entry 'meta/epoch' must be >= 0, got " + std::to_string(progress.epoch));
    const std::size_t epochs = static_cast<std::size_t>(progress.epoch);
    // Every column is checked against the epoch count before the history is
    // allocated: the count comes from the file and may be anything.
    std::vector<const xt::xarray<double>*> stored;
    for (const Column& column : columns) {
        const auto found = progress.arrays.find(history_prefix + column.name);
        if (found == progress.arrays.end() || found->second.dimension() != 1 || found->second.size() != epochs)
            throw Error("'" + path + "': the metrics history '" + column.name + "' is missing or has not " +
                        std::to_string(epochs) + " entries (entry 'meta/epoch')");
        stored.push_back(&found->second);
    }
    History history(epochs);
    for (std::size_t c = 0; c < std::size(columns); ++c)
        for (std::size_t i = 0; i < epochs; ++i) {
            const double value = (*stored[c])(i);
            // What a trainer can have recorded: epochs 1, 2, ... in order;
            // finite losses (a non-finite one stops training unrecorded);
            // accuracies in [0, 1], or NaN (a run on targets measures none);
            // non-negative seconds.
            const std::string name = columns[c].name;
            const bool possible = name == "epoch"                                    ? value == double(i + 1)
                                  : name == "train_accuracy" || name == "valid_accuracy" ? std::isnan(value) || (value >= 0 && value <= 1)
                                  : name == "seconds"                                ? std::isfinite(value) && value >= 0
                                                                                     : std::isfinite(value);
            if (!possible)
                throw Error("'" + path + "', entry 'meta/array/" + history_prefix + name + "': value " +
                            detail::option_value_text(value) + " at epoch " + std::to_string(i + 1) +
                            " cannot have been recorded");
            history[i].*columns[c].field = value;
        }
    return history;
}

}  // namespace tapegrad::train
