// The notebook's fully connected network: Linear layers with an activation
// between them and none after the last (the loss takes the raw logits).
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

// MLPOptions({784, 100, 100, 10}, "sigmoid").init(Init::StandardNormal).seed(42)
// gives Linear(784,100), Sigmoid, Linear(100,100), Sigmoid, Linear(100,10);
// layer k draws its weights from derive_seed(seed, k). Without a seed,
// make_mlp draws one from tapegrad::draw_seed() (autograd/random.hpp).
class MLPOptions {
public:
    static constexpr const char* options_name = "MLPOptions";
    MLPOptions(std::vector<std::size_t> sizes, std::string activation) {
        this->sizes(std::move(sizes));
        this->activation(std::move(activation));
    }
    // Input size first; at least an input and an output, none 0.
    TAPEGRAD_OPTION(std::vector<std::size_t>, sizes, valid_sizes(value), "at least two sizes, all > 0");
    TAPEGRAD_OPTION(std::string, activation, is_activation_name(value), "sigmoid, tanh or relu");
    TAPEGRAD_OPTION_ANY(Init, init) = Init::PyTorchDefault;
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);

private:
    static bool valid_sizes(const std::vector<std::size_t>& sizes) {
        for (std::size_t size : sizes)
            if (size == 0) return false;
        return sizes.size() >= 2;
    }
};

template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const MLPOptions& options);
template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const std::vector<std::size_t>& sizes, const std::string& activation) {
    return make_mlp<T>(MLPOptions(sizes, activation));
}

}  // namespace tapegrad::nn
