#include <tapegrad/train/progress.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

namespace tapegrad::train {

namespace {
constexpr std::size_t bar_width = 30;
}

EpochProgress::EpochProgress(std::size_t epoch, std::size_t epochs, std::size_t batches)
    : epoch_(epoch), epochs_(epochs), batches_(batches), terminal_(::isatty(STDERR_FILENO) == 1) {}

void EpochProgress::batch_done(std::size_t batch, double running_loss) {
    if (terminal_) {
        const std::size_t filled = batch * bar_width / batches_;
        std::fprintf(stderr, "\repoch %zu/%zu [%s%s] %zu/%zu loss %.4f", epoch_, epochs_,
                     std::string(filled, '#').c_str(), std::string(bar_width - filled, '.').c_str(), batch, batches_,
                     running_loss);
        std::fflush(stderr);
    } else if (batch * 4 >= next_quarter_ * batches_) {
        std::fprintf(stderr, "epoch %zu/%zu: batch %zu/%zu, loss %.4f\n", epoch_, epochs_, batch, batches_,
                     running_loss);
        while (batch * 4 >= next_quarter_ * batches_) ++next_quarter_;
    }
}

void EpochProgress::finish() {
    if (terminal_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace tapegrad::train
