#include <doctest/doctest.h>

#include "autograd/ops.hpp"

using namespace tapegrad;

TEST_CASE("smoke: y = sum(x * x) gives 2x") {
    auto x = Tensor<double>::of({1.0, -2.0, 3.0}, true);
    auto y = sum(x * x);
    y.backward();
    CHECK(x.grad().at({0}) == doctest::Approx(2.0));
    CHECK(x.grad().at({1}) == doctest::Approx(-4.0));
}
