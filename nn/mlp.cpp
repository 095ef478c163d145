#include <tapegrad/nn/mlp.hpp>

#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/linear.hpp>

namespace tapegrad::nn {

template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const std::vector<std::size_t>& sizes, const std::string& activation,
                                        Init init, std::uint64_t seed) {
    if (sizes.size() < 2) throw Error("make_mlp: needs at least an input and an output size");
    make_activation<T>(activation);  // reject a bad name before building anything
    auto net = std::make_shared<Sequential<T>>();
    for (std::size_t layer = 0; layer + 1 < sizes.size(); ++layer) {
        if (layer > 0) net->push_back(make_activation<T>(activation));
        net->push_back(std::make_shared<Linear<T>>(sizes[layer], sizes[layer + 1], true, init, derive_seed(seed, layer)));
    }
    return net;
}

template std::shared_ptr<Sequential<float>> make_mlp(const std::vector<std::size_t>&, const std::string&, Init,
                                                     std::uint64_t);
template std::shared_ptr<Sequential<double>> make_mlp(const std::vector<std::size_t>&, const std::string&, Init,
                                                      std::uint64_t);

}  // namespace tapegrad::nn
