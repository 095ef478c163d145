#include <tapegrad/train/history.hpp>

#include <cstdio>
#include <iterator>

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
            std::snprintf(cell, sizeof cell, columns[c].format, record.*columns[c].field);
            csv += cell;
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
    History history(static_cast<std::size_t>(progress.epoch));
    for (const Column& column : columns) {
        const auto found = progress.arrays.find(history_prefix + column.name);
        if (found == progress.arrays.end() || found->second.dimension() != 1 || found->second.size() != history.size())
            throw Error("'" + path + "': the metrics history '" + column.name + "' is missing or has not " +
                                  std::to_string(history.size()) + " entries");
        for (std::size_t i = 0; i < history.size(); ++i) history[i].*column.field = found->second(i);
    }
    return history;
}

}  // namespace tapegrad::train
