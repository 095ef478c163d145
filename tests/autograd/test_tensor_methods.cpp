// The method forms with tensor.hpp alone, no ops.hpp: they are built into the
// library (tensor.cpp), so a file that includes only the tensor links.
#include <doctest/doctest.h>

#include <tapegrad/autograd/tensor.hpp>

TEST_CASE("method forms link and work with tensor.hpp alone") {
    using tapegrad::Tensor;
    const auto x = Tensor<float>::of({{1.0f, 4.0f}, {3.0f, 2.0f}}, true);
    CHECK(x.sum().item() == 10.0f);
    CHECK(x.sum(0).at({1}) == 6.0f);
    CHECK(x.matmul(x.t()).at({0, 1}) == 1.0f * 3.0f + 4.0f * 2.0f);
    CHECK(x.argmax(1) == tapegrad::Indices{1, 0});
    CHECK(x.gt(2.5f).at({1, 0}) == 1.0f);
    CHECK_FALSE(x.gt(2.5f).requires_grad());
    x.pow(2.0f).mean().backward();
    CHECK(x.grad().at({1, 1}) == 2.0f * 2.0f / 4.0f);
    const auto d = Tensor<double>::of({0.0, -2.0});
    CHECK(d.abs().at({1}) == 2.0);
    CHECK(d.logical_not().at({0}) == 1.0);
}
