// End to end: a small network learns a linearly separable problem.
#include <doctest/doctest.h>

#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
struct Problem {
    Tensor<double> x;
    Labels labels;
};

// 400 points in 10-D labelled by the side of a fixed hyperplane; points
// closer than 0.1 to it are dropped so that a margin exists.
Problem separable_problem() {
    const auto candidates = Tensor<double>::normal({600, 10}, 0, 1, 2024);
    const auto normal = Tensor<double>::normal({10}, 0, 1, 7).data();
    std::vector<double> rows;
    Labels labels;
    for (std::size_t i = 0; i < 600 && labels.size() < 400; ++i) {
        double side = 0;
        for (std::size_t j = 0; j < 10; ++j) side += candidates.at({i, j}) * normal(j);
        if (std::abs(side) < 0.1) continue;
        for (std::size_t j = 0; j < 10; ++j) rows.push_back(candidates.at({i, j}));
        labels.push_back(side > 0);
    }
    REQUIRE(labels.size() == 400);
    return {Tensor<double>::from_data(rows, {400, 10}), labels};
}

double accuracy(Module<double>& net, const Problem& problem) {
    NoGradGuard no_grad;
    const auto logits = net(problem.x);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < problem.labels.size(); ++i) {
        const std::int64_t predicted = logits.at({i, 1}) > logits.at({i, 0});
        correct += predicted == problem.labels[i];
    }
    return double(correct) / double(problem.labels.size());
}

void train(Module<double>& net, optim::Optimizer<double>& optimizer, const Problem& problem, int epochs) {
    CrossEntropyLoss<double> loss;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        optimizer.zero_grad();
        loss(net(problem.x), problem.labels).backward();
        optimizer.step();
    }
}
}  // namespace

TEST_CASE("an MLP trained with SGD + Nesterov separates a linearly separable problem") {
    const Problem problem = separable_problem();
    auto net = make_mlp<double>(MLPOptions({10, 16, 2}, "relu").init(Init::KaimingUniform).seed(3));
    const double before = accuracy(*net, problem);
    optim::SGD<double> sgd(net->parameters(), optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
    train(*net, sgd, problem, 300);
    CHECK(before < 0.9);
    CHECK(accuracy(*net, problem) >= 0.99);
}

TEST_CASE("an MLP trained with Adam separates a linearly separable problem") {
    const Problem problem = separable_problem();
    auto net = make_mlp<double>(MLPOptions({10, 16, 2}, "tanh").init(Init::XavierUniform).seed(4));
    optim::Adam<double> adam(net->parameters(), optim::AdamOptions(0.01));
    train(*net, adam, problem, 300);
    CHECK(accuracy(*net, problem) >= 0.99);
}
