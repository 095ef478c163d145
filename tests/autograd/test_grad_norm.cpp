// dropout, batch_norm, layer_norm: gradients in double against central
// differences, values against naive loops written here.
#include <cmath>
#include <random>

#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// The mask dropout documents, drawn independently here: element i is kept
// when the top 53 bits of the i-th std::mt19937_64(seed) output, as a double
// in [0, 1), are >= p.
std::vector<bool> reference_kept(std::size_t n, double p, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<bool> kept(n);
    for (std::size_t i = 0; i < n; ++i) kept[i] = std::ldexp(double(rng() >> 11), -53) >= p;
    return kept;
}
}  // namespace

TEST_CASE("dropout: gradients, values against the documented mask") {
    for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}, Shape{}, Shape{1, 1}, Shape{0, 3}}) {
        INFO(shape_name(s));
        for (double p : {0.25, 0.5, 0.9}) {
            if (s != Shape{0, 3})
                check_gradients(Op::dropout, [p](const TL& x) { return TL{dropout(x[0], p, true, 7)}; },
                                {randn(s, 11)});
            const Tensor<double> x = randn(s, 12, false);
            const Tensor<double> y = dropout(x, p, true, 7);
            const std::vector<bool> kept = reference_kept(x.size(), p, 7);
            REQUIRE(y.shape() == s);
            // Exactly: the kept values are x * (1 / (1 - p)), one rounding each.
            for (std::size_t i = 0; i < x.size(); ++i)
                CHECK(y.data().data()[i] == (kept[i] ? x.data().data()[i] * (1 / (1 - p)) : 0.0));
        }
    }
}

TEST_CASE("dropout: the seed fixes the mask, for float and double alike") {
    const Tensor<double> x = Tensor<double>::ones({40, 50});
    const Tensor<float> xf = Tensor<float>::ones({40, 50});
    const auto a = dropout(x, 0.3, true, 1), b = dropout(x, 0.3, true, 1), c = dropout(x, 0.3, true, 2);
    CHECK(a.data() == b.data());
    CHECK(a.data() != c.data());
    const Tensor<float> af = dropout(xf, 0.3, true, 1);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK((a.data().data()[i] == 0) == (af.data().data()[i] == 0));
    // About 30% dropped: 2000 Bernoulli(0.3) draws have a standard deviation of
    // ~20 around 600; 5 sigma either side.
    const double dropped = double(xt::sum(xt::equal(a.data(), 0.0))());
    CHECK(std::fabs(dropped - 600) < 100);
}

TEST_CASE("dropout: identity without training or with p = 0, zeros with p = 1, bad p refused") {
    const Tensor<double> x = randn({3, 4}, 13);
    CHECK(dropout(x, 0.5, false, 1).same_as(x));
    CHECK(dropout(x, 0.0, true, 1).same_as(x));
    const Tensor<double> zeros = dropout(x, 1.0, true, 1);
    CHECK(zeros.data() == xt::zeros<double>({3, 4}));
    sum(zeros).backward();
    CHECK(x.grad().data() == xt::zeros<double>({3, 4}));
    for (double p : {-0.1, 1.5, std::nan("")}) {
        const std::string message = error_of([&] { dropout(x, p, true, 1); });
        CHECK(message.find("dropout: p must be in [0, 1]") != std::string::npos);
        CHECK(message.find("(3, 4)") != std::string::npos);
    }
}
