/// \file
/// What each epoch measured, kept for the CSV, the plot and checkpoints.
#pragma once

#include <string>
#include <vector>

#include <tapegrad/train/checkpoint.hpp>

namespace tapegrad::train {

/// What one epoch measured: one row of the metrics CSV. Every field is a
/// double so that one table of columns can write the CSV and the checkpoint.
struct EpochRecord {
    /// The epoch's number, 1-based (a whole number).
    double epoch = 0;  // 1-based
    /// The training loss per sample over the epoch (each batch's loss weighted
    /// by its size), measured while the weights changed.
    double train_loss = 0, train_accuracy = 0;
    /// \var train_accuracy
    /// The fraction of training samples classified correctly during the
    /// epoch, in [0, 1], measured while the weights changed; NaN (not
    /// measured) when the data sets have targets rather than class labels.

    /// The mean cross-entropy on the validation set after the epoch (see
    /// train::evaluate()); on targets, the mean of the trainer's TargetLoss.
    double valid_loss = 0, valid_accuracy = 0;
    /// \var valid_accuracy
    /// The fraction of validation samples classified correctly after the
    /// epoch, in [0, 1]; NaN (not measured) on targets, as train_accuracy.

    /// Wall time of the epoch's training pass alone, in seconds (not
    /// reproducible, unlike every other column).
    double seconds = 0;  // wall time of the epoch's training pass alone
};

/// The records of a run, epoch 1 first.
using History = std::vector<EpochRecord>;

/// The metrics CSV: the header "epoch,train_loss,...,seconds" and one line per epoch.
/// Fixed formats (epoch as an integer, losses and accuracies with 6 decimals,
/// seconds with 3), so equal runs give equal files apart from the seconds.
/// A NaN (an accuracy not measured: a run on targets) is an empty cell.
std::string to_csv(const History& history);

/// Adds `history` to `progress` for a checkpoint, as one float64 array per
/// column, `history/<column>`, read back by restore_history().
void store_history(const History& history, TrainingProgress& progress);
/// The history store_history() wrote, one record per completed epoch
/// (progress.epoch). `path` only names the file in errors.
/// Throws Error naming `path` when the columns are missing or uneven, or
/// hold values no trainer records (accuracies outside [0, 1] and not NaN).
History restore_history(const TrainingProgress& progress, const std::string& path);

}  // namespace tapegrad::train
