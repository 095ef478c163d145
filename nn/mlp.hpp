/// \file
/// The notebook's fully connected network: Linear layers with an activation
/// between them and none after the last (the loss takes the raw logits).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::nn {

/// MLPOptions({784, 100, 100, 10}, "sigmoid").init(Init::StandardNormal).seed(42)
/// gives Linear(784,100), Sigmoid, Linear(100,100), Sigmoid, Linear(100,10);
/// layer k draws its weights from derive_seed(seed, k). Without a seed,
/// make_mlp draws one from tapegrad::draw_seed() (autograd/random.hpp).
///
/// Each option has a chainable setter `name(value)` and a getter `name()`
/// (see autograd/options.hpp); a setter given a value out of range throws
/// tapegrad::Error naming the option and the value, and changes nothing.
class MLPOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "MLPOptions";
    /// The two required options; throws tapegrad::Error for invalid sizes or
    /// an unknown activation.
    MLPOptions(std::vector<std::size_t> sizes, std::string activation) {
        this->sizes(std::move(sizes));
        this->activation(std::move(activation));
    }
    /// Input size first; at least an input and an output, none 0.
    TAPEGRAD_OPTION(std::vector<std::size_t>, sizes, valid_sizes(value), "at least two sizes, all > 0");
    /// The activation between Linear layers: "sigmoid", "tanh" or "relu".
    TAPEGRAD_OPTION(std::string, activation, is_activation_name(value), "sigmoid, tanh or relu");
    /// How every Linear layer starts; default Init::PyTorchDefault.
    TAPEGRAD_OPTION_ANY(Init, init) = Init::PyTorchDefault;
    /// The network's seed; unset by default, and make_mlp then draws one.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);

private:
    static bool valid_sizes(const std::vector<std::size_t>& sizes) {
        for (std::size_t size : sizes)
            if (size == 0) return false;
        return sizes.size() >= 2;
    }
};

/// A new Sequential of Linear layers sized by options.sizes(), with an
/// activation module between consecutive ones, initialised as
/// options.init() says from options.seed() (or a drawn seed). The options
/// were checked when set, so this does not throw for them.
template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const MLPOptions& options);
/// make_mlp(MLPOptions(sizes, activation)): the default initialiser and a
/// drawn seed. Throws tapegrad::Error as MLPOptions does.
template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const std::vector<std::size_t>& sizes, const std::string& activation) {
    return make_mlp<T>(MLPOptions(sizes, activation));
}

}  // namespace tapegrad::nn
