#include "relu_kink.hpp"

#include <algorithm>
#include <cmath>

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/nn/linear.hpp>

namespace gradcheck_example {

using tapegrad::Tensor;

bool KinkMargins::clear() const {
    for (std::size_t l = 0; l < closest.size(); ++l)
        if (!(closest[l] > reach[l])) return false;
    return true;
}

namespace {

double max_abs(const xt::xarray<double>& a) { return a.size() ? double(xt::amax(xt::abs(a))()) : 0.0; }

// ||W||_inf: the largest row sum of |W|, the most one layer can amplify a
// change that is at most 1 in every input.
// (A plain loop: xt::sum over an axis trips a GCC 12 -Wstringop-overflow false
// positive inside xtensor.)
double inf_norm(const xt::xarray<double>& w) {
    const std::size_t rows = w.shape()[0], cols = w.shape()[1];
    double largest = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        double row_sum = 0;
        for (std::size_t c = 0; c < cols; ++c) row_sum += std::abs(w(r, c));
        largest = std::max(largest, row_sum);
    }
    return largest;
}

}  // namespace

KinkMargins kink_margins(tapegrad::nn::Sequential<double>& net, const xt::xarray<double>& inputs, double eps) {
    tapegrad::NoGradGuard quiet;
    KinkMargins margins;
    Tensor<double> activation(inputs);
    double previous_reach = 0;
    const std::size_t modules = net.size();
    for (std::size_t m = 0; m < modules; ++m) {
        auto* linear = dynamic_cast<tapegrad::nn::Linear<double>*>(&net[m]);
        if (!linear) {
            activation = net[m](activation);
            continue;
        }
        const double own = eps * std::max(1.0, max_abs(activation.data()));
        const double reach = std::max(own, previous_reach * inf_norm(linear->weight().data()));
        activation = (*linear)(activation);
        if (m + 1 == modules) break;  // the logits feed the smooth softmax, not a ReLU
        margins.closest.push_back(double(xt::amin(xt::abs(activation.data()))()));
        margins.reach.push_back(reach);
        previous_reach = reach;
    }
    return margins;
}

std::vector<std::size_t> rows_clear_of_kink(tapegrad::nn::Sequential<double>& net, const InputPool& pool,
                                            std::size_t batch, double eps) {
    const std::vector<double> pool_reach = kink_margins(net, pool.inputs, eps).reach;
    std::vector<std::size_t> chosen;
    const std::size_t candidates = pool.inputs.shape()[0];
    for (std::size_t r = 0; r < candidates && chosen.size() < batch; ++r) {
        xt::xarray<double> row = xt::view(pool.inputs, xt::range(r, r + 1), xt::all());
        KinkMargins own = kink_margins(net, row, eps);
        own.reach = pool_reach;
        if (own.clear()) chosen.push_back(r);
    }
    if (chosen.size() < batch)
        throw tapegrad::Error("only " + std::to_string(chosen.size()) + " of " + std::to_string(candidates) +
                              " candidate inputs keep every ReLU pre-activation clear of 0; need " +
                              std::to_string(batch));
    return chosen;
}

}  // namespace gradcheck_example
