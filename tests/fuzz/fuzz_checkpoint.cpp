// Any file given to Trainer::resume, the entry a user's --resume reaches:
// train::load_checkpoint (the .npz layer, every entry's name, dtype and
// shape against the model and the optimizer) and then the trainer's checks
// of what it read (fingerprint, data identity, lr, epoch, history, early
// stopping). Once with SGD (momentum buffers) and once with Adam (moments,
// step counts). Only tapegrad::Error may come out, and a refused file must
// leave model, optimizer and trainer as they were.
#include <cstdlib>

#include "input_file.hpp"
#include "tiny_training.hpp"

namespace {

void resume_or_refuse(const std::string& path, bool adam) {
    tiny::Setup s(adam);
    const auto weights = s.model->state_dict();
    const auto state = s.optimizer->state();
    try {
        s.trainer.resume(path);
    } catch (const tapegrad::Error&) {
        // "A failed call changes nothing": a finding like any crash.
        const auto after = s.optimizer->state();
        if (!(s.model->state_dict() == weights) || !(after.buffers == state.buffers) || after.scalars != state.scalars ||
            !s.trainer.history().empty())
            std::abort();
        return;
    }
    // Accepted: training must go on from what was restored (the remaining
    // epochs, at most 3 of 2 batches; no checkpoint is written), which uses
    // the history and early stopping's best epoch.
    try {
        s.trainer.run();
    } catch (const tapegrad::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static InputFile file;
    const std::string& path = file.hold(data, size);
    resume_or_refuse(path, false);
    resume_or_refuse(path, true);
    return 0;
}
