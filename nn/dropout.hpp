/// \file
/// Dropout: zeroes random elements in training, as torch.nn.Dropout.
#pragma once

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// DropoutOptions(0.25): the probability of zeroing an element. Its setter
/// throws tapegrad::Error naming the option and the value unless it is in [0, 1].
class DropoutOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "DropoutOptions";
    /// The probability `p`, checked by its setter.
    explicit DropoutOptions(double p = 0.5) { this->p(p); }
    /// The probability of zeroing each element in training, in [0, 1]
    /// (default 0.5, as PyTorch's).
    TAPEGRAD_OPTION(double, p, value >= 0 && value <= 1, "in [0, 1]");
};

/// tapegrad::dropout as a module, as torch.nn.Dropout: in training each
/// element is zeroed with probability p and the others scaled by 1 / (1 - p);
/// in evaluation (eval()) the input passes unchanged. No parameters.
///
/// Each training forward draws its mask's seed with tapegrad::draw_seed():
/// inside a SeedScope (train::Trainer opens one per batch) the masks repeat
/// exactly, so a run resumed from a checkpoint draws the masks the
/// uninterrupted run drew; outside one they follow manual_seed().
template <class T>
class Dropout : public Module<T> {
public:
    /// A dropout layer with options.p().
    explicit Dropout(const DropoutOptions& options = DropoutOptions()) : options_(options) {}
    /// Dropout(DropoutOptions(p)).
    explicit Dropout(double p) : Dropout(DropoutOptions(p)) {}

    /// dropout(input, p, is_training(), draw_seed()): any shape, same shape out.
    /// Draws no seed in evaluation or with p = 0.
    Tensor<T> forward(const Tensor<T>& input) override;

    /// The options it was built with.
    const DropoutOptions& options() const { return options_; }

protected:
    /// "Dropout".
    std::string type_name() const override { return "Dropout"; }
    /// "p=0.25".
    std::string extra_repr() const override;

private:
    DropoutOptions options_;
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace tapegrad::nn
