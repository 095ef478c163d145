// Logistic regression from raw tensor ops alone: no modules, no optimizer.
// Two Gaussian blobs in 2-D; gradient descent on the mean binary
// cross-entropy, written out with log and sigmoid. Exits 0 only if it
// classifies at least 95% of the points (the blobs overlap: even the best
// line gets only Phi(1.5 sqrt 2) = 98.3% of such points right on average).
#include <cstdio>

#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

int main(int argc, char** argv) {
    if (argc > 1) {
        std::fprintf(stderr, "usage: %s (takes no arguments; unexpected '%s')\n", argv[0], argv[1]);
        return 2;
    }
    const double target = 0.95;
    const std::size_t n = 400;
    // Class 1 centred at (+1.5, +1.5), class 0 at (-1.5, -1.5), unit variance.
    Tensor<float> noise = Tensor<float>::normal({n, 2}, 0.0f, 1.0f, /*seed=*/1);
    xt::xarray<float> labels = xt::zeros<float>({n, std::size_t(1)});
    xt::xarray<float> points = noise.data();
    for (std::size_t i = 0; i < n; ++i) {
        const float centre = i % 2 ? 1.5f : -1.5f;
        labels(i, 0) = i % 2 ? 1.0f : 0.0f;
        points(i, 0) += centre;
        points(i, 1) += centre;
    }
    Tensor<float> x(points), y(labels);

    Tensor<float> w = Tensor<float>::zeros({2, 1}, true);
    Tensor<float> b = Tensor<float>::zeros({1}, true);
    const float lr = 0.5f;
    for (int step = 0; step <= 200; ++step) {
        Tensor<float> p = sigmoid(add(matmul(x, w), b));
        // -mean(y log p + (1 - y) log(1 - p)); the 1e-7 keeps log finite.
        Tensor<float> loss = -mean(add(mul(y, log(p + 1e-7f)), mul(1.0f - y, log(1.0f - p + 1e-7f))));
        loss.backward();
        {
            NoGradGuard no_grad;
            w.data_mut() -= lr * w.grad().data();
            b.data_mut() -= lr * b.grad().data();
        }
        w.zero_grad();
        b.zero_grad();
        if (step % 50 == 0) std::printf("step %3d  loss %.4f\n", step, double(loss.item()));
    }
    NoGradGuard no_grad;
    Tensor<float> p = sigmoid(add(matmul(x, w), b));
    std::size_t correct = 0;
    for (std::size_t i = 0; i < n; ++i) correct += (p.at({i, 0}) > 0.5f) == (labels(i, 0) > 0.5f);
    const double accuracy = double(correct) / double(n);
    std::printf("w = (%.3f, %.3f), b = %.3f\n", double(w.at({0, 0})), double(w.at({1, 0})), double(b.at({0})));
    std::printf("accuracy: %.4f\n", accuracy);
    return accuracy >= target ? 0 : 1;
}
