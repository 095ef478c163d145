// Progress through one epoch's batches on stderr: a bar redrawn in place
// when stderr is a terminal, a plain line at each quarter otherwise (logs).
#pragma once

#include <cstddef>

namespace tapegrad::train {

class EpochProgress {
public:
    EpochProgress(std::size_t epoch, std::size_t epochs, std::size_t batches);
    void batch_done(std::size_t batch, double running_loss);  // batch is 1-based
    void finish();  // clears the bar, so stdout's epoch line starts clean

private:
    std::size_t epoch_, epochs_, batches_;
    bool terminal_;
    std::size_t next_quarter_ = 1;
};

}  // namespace tapegrad::train
