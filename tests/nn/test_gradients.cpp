// Gradients of whole networks against central differences (autograd/gradcheck).
#include <doctest/doctest.h>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
// Cross-entropy plus L2 weight decay written into the loss: lambda/2 * sum of
// squared weights (biases are not decayed, as is usual).
Tensor<double> regularised_loss(Module<double>& net, const Tensor<double>& x, const Labels& labels, double lambda) {
    Tensor<double> loss = CrossEntropyLoss<double>()(net(x), labels);
    for (const auto& [name, param] : net.named_parameters())
        if (name.find("weight") != std::string::npos) loss = loss + sum(param * param) * (lambda / 2);
    return loss;
}
}  // namespace

TEST_CASE("a 20-16-12-10 network with cross-entropy and L2 passes gradcheck for every activation") {
    const auto x = Tensor<double>::normal({6, 20}, 0, 1, 11);
    const Labels labels{0, 3, 9, 9, 5, 1};
    const double lambda = 0.05;
    for (const char* activation : {"sigmoid", "tanh", "relu"}) {
        CAPTURE(activation);
        auto net = make_mlp<double>(MLPOptions({20, 16, 12, 10}, activation).init(Init::XavierNormal).seed(4));
        auto report = gradcheck<double>(
            [&](const TensorList<double>&) { return TensorList<double>{regularised_loss(*net, x, labels, lambda)}; },
            net->parameters());
        INFO(report.summary());
        CHECK(report.passed);
        CHECK(report.checked == 20 * 16 + 16 + 16 * 12 + 12 + 12 * 10 + 10);
    }
}

TEST_CASE("the L2 term adds exactly lambda * W to each weight's gradient") {
    auto net = make_mlp<double>(MLPOptions({20, 16, 12, 10}, "tanh").init(Init::PyTorchDefault).seed(9));
    const auto x = Tensor<double>::normal({4, 20}, 0, 1, 2);
    const Labels labels{1, 2, 3, 4};
    const double lambda = 0.1;
    regularised_loss(*net, x, labels, 0.0).backward();
    std::vector<xt::xarray<double>> plain;
    for (const auto& param : net->parameters()) plain.push_back(param.grad().data());
    net->zero_grad();
    regularised_loss(*net, x, labels, lambda).backward();
    const auto named = net->named_parameters();
    for (std::size_t i = 0; i < named.size(); ++i) {
        CAPTURE(named[i].first);
        const bool is_weight = named[i].first.find("weight") != std::string::npos;
        const xt::xarray<double> extra = named[i].second.grad().data() - plain[i];
        const xt::xarray<double> expected = is_weight ? xt::xarray<double>(lambda * named[i].second.data())
                                                      : xt::xarray<double>(xt::zeros<double>(named[i].second.shape()));
        CHECK(xt::allclose(extra, expected, 1e-12, 1e-12));
    }
}
