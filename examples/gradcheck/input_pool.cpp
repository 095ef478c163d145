#include "input_pool.hpp"

#include <algorithm>

#include <xtensor/xview.hpp>

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/autograd/random.hpp>

namespace gradcheck_example {

using tapegrad::Tensor;

InputPool mnist_pool(const std::string& dir, std::size_t count, std::uint64_t seed) {
    const tapegrad::Dataset test = tapegrad::load_mnist_dir(dir, "test");
    if (test.size() == 0) throw tapegrad::Error("no MNIST test digits in " + dir);
    std::vector<std::size_t> order = tapegrad::permutation(test.size(), seed);
    order.resize(std::min(count, order.size()));
    const tapegrad::Dataset picked = tapegrad::subset(test, order);

    InputPool pool;
    pool.inputs = xt::cast<double>(picked.inputs);
    pool.labels = picked.labels;
    pool.ids = order;
    pool.source = "MNIST test digits from " + dir;
    pool.real = true;
    return pool;
}

InputPool synthetic_pool(std::size_t count, std::size_t features, std::size_t classes, std::uint64_t seed) {
    InputPool pool;
    pool.inputs = Tensor<double>::uniform({count, features}, 0.0, 1.0, tapegrad::derive_seed(seed, 0)).data();
    const xt::xarray<double> draws =
        Tensor<double>::uniform({count}, 0.0, double(classes), tapegrad::derive_seed(seed, 1)).data();
    for (std::size_t i = 0; i < count; ++i) {
        pool.labels.push_back(std::min<std::int64_t>(std::int64_t(draws(i)), std::int64_t(classes) - 1));
        pool.ids.push_back(i);
    }
    pool.source = "seeded synthetic inputs, pixels uniform in [0, 1]";
    return pool;
}

Tensor<double> batch_inputs(const InputPool& pool, const std::vector<std::size_t>& chosen) {
    const std::size_t features = pool.inputs.shape()[1];
    xt::xarray<double> rows = xt::zeros<double>({chosen.size(), features});
    for (std::size_t r = 0; r < chosen.size(); ++r)
        xt::view(rows, r, xt::all()) = xt::view(pool.inputs, chosen[r], xt::all());
    return Tensor<double>(rows);
}

tapegrad::Labels batch_labels(const InputPool& pool, const std::vector<std::size_t>& chosen) {
    tapegrad::Labels labels;
    for (std::size_t r : chosen) labels.push_back(pool.labels[r]);
    return labels;
}

}  // namespace gradcheck_example
