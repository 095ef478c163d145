/// \file
/// Flatten: merges a range of axes into one, as torch.nn.Flatten (between
/// convolutional and linear layers: (N, C, H, W) -> (N, C*H*W)).
#pragma once

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// FlattenOptions().start_dim(1).end_dim(-1): the first and last axis merged,
/// negative counting from the end (-1 is the last), as PyTorch's.
class FlattenOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "FlattenOptions";
    /// The first axis merged (default 1: the batch axis stays).
    TAPEGRAD_OPTION_ANY(int, start_dim) = 1;
    /// The last axis merged (default -1, the last).
    TAPEGRAD_OPTION_ANY(int, end_dim) = -1;
};

/// Reshapes its input so that axes start_dim..end_dim become one, as
/// torch.nn.Flatten; the values stay in row-major order. No parameters.
template <class T>
class Flatten : public Module<T> {
public:
    /// A Flatten over options.start_dim() to options.end_dim().
    explicit Flatten(const FlattenOptions& options = FlattenOptions()) : options_(options) {}

    /// The input reshaped: (d0, ..., d_start * ... * d_end, ...). Throws
    /// tapegrad::Error naming the layer and the shape when an axis is out of
    /// range for it or start_dim comes after end_dim. A 0-d input is taken as
    /// shape (1), as PyTorch does.
    Tensor<T> forward(const Tensor<T>& input) override;

    /// The options it was built with.
    const FlattenOptions& options() const { return options_; }

protected:
    /// "Flatten".
    std::string type_name() const override { return "Flatten"; }
    /// "start_dim=1, end_dim=-1".
    std::string extra_repr() const override;

private:
    FlattenOptions options_;
};

extern template class Flatten<float>;
extern template class Flatten<double>;

}  // namespace tapegrad::nn
