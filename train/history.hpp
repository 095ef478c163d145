// What each epoch measured, kept for the CSV, the plot and checkpoints.
#pragma once

#include <string>
#include <vector>

#include <tapegrad/train/checkpoint.hpp>

namespace tapegrad::train {

struct EpochRecord {
    double epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double valid_loss = 0, valid_accuracy = 0;
    double seconds = 0;  // wall time of the epoch's training pass alone
};

using History = std::vector<EpochRecord>;

// "epoch,train_loss,...,seconds" and one line per epoch.
std::string to_csv(const History& history);

// Stored in a checkpoint as one float64 array per column, "history/<column>".
void store_history(const History& history, TrainingProgress& progress);
// Throws Error naming `path` when the columns are missing or uneven.
History restore_history(const TrainingProgress& progress, const std::string& path);

}  // namespace tapegrad::train
