#include <tapegrad/nn/mlp.hpp>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/linear.hpp>

namespace tapegrad::nn {

template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const MLPOptions& options) {
    const std::vector<std::size_t>& sizes = options.sizes();
    const std::uint64_t seed = options.seed() ? *options.seed() : draw_seed();
    auto net = std::make_shared<Sequential<T>>();
    for (std::size_t layer = 0; layer + 1 < sizes.size(); ++layer) {
        if (layer > 0) net->push_back(make_activation<T>(options.activation()));
        net->push_back(std::make_shared<Linear<T>>(
            LinearOptions(sizes[layer], sizes[layer + 1]).init(options.init()).seed(derive_seed(seed, layer))));
    }
    return net;
}

template std::shared_ptr<Sequential<float>> make_mlp(const MLPOptions&);
template std::shared_ptr<Sequential<double>> make_mlp(const MLPOptions&);

}  // namespace tapegrad::nn
