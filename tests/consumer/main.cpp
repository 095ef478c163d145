// A program of one's own, outside tapegrad's tree: tests/consumer/run.sh
// builds it against an installed tapegrad (pkg-config, CMake) and as a meson
// subproject. It composes a small network, trains it a few steps, and exits 1
// unless the loss falls.
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/tapegrad.hpp>
#include <tapegrad/version.hpp>

#include <iostream>
#include <memory>

using namespace tapegrad;

int main() {
    std::cout << "tapegrad " << TAPEGRAD_VERSION_STRING << "\n";

    // Two classes in 2-D: label 1 when x0 + x1 > 0.
    auto x = Tensor<float>::normal({128, 2}, 0.0f, 1.0f, /*seed=*/1);
    Labels y(128);
    for (std::size_t i = 0; i < 128; ++i) y[i] = x.at({i, 0}) + x.at({i, 1}) > 0;

    nn::Sequential<float> model;
    model.push_back(std::make_shared<nn::Linear<float>>(2, 8));
    model.push_back(std::make_shared<nn::Tanh<float>>());
    model.push_back(std::make_shared<nn::Linear<float>>(8, 2));
    optim::SGD<float> sgd(model.parameters(), optim::SGDOptions(0.5).momentum(0.9));

    float first_loss = 0, last_loss = 0;
    for (int step = 0; step < 20; ++step) {
        auto loss = cross_entropy(model(x), y);
        (step == 0 ? first_loss : last_loss) = loss.item();
        sgd.zero_grad();
        loss.backward();
        sgd.step();
    }
    std::cout << "loss " << first_loss << " -> " << last_loss << "\n";
    // A quarter of the first loss after 20 steps on a separable problem.
    return last_loss < 0.25f * first_loss ? 0 : 1;
}
