/// \file
/// Progress through one epoch's batches on stderr: a bar redrawn in place
/// when stderr is a terminal, a plain line at each quarter otherwise (logs).
#pragma once

#include <cstddef>

namespace tapegrad::train {

/// The progress display of one epoch on stderr, as train::Trainer shows it
/// with verbose(true).
class EpochProgress {
public:
    /// For epoch `epoch` of `epochs` (both 1-based, shown as "epoch 3/50"),
    /// which has `batches` batches (at least 1). Checks here once whether
    /// stderr is a terminal.
    EpochProgress(std::size_t epoch, std::size_t epochs, std::size_t batches);
    /// After batch `batch` (1-based) with the mean loss so far: redraws the
    /// bar, or prints a line when a new quarter of the batches is done.
    void batch_done(std::size_t batch, double running_loss);  // batch is 1-based
    /// Clears the bar, so stdout's epoch line starts clean; prints nothing
    /// when stderr is not a terminal.
    void finish();  // clears the bar, so stdout's epoch line starts clean

private:
    std::size_t epoch_, epochs_, batches_;
    bool terminal_;
    std::size_t next_quarter_ = 1;
};

}  // namespace tapegrad::train
