// The Tensor handle: factories, access, printing, errors.
#include <sstream>

#include <doctest/doctest.h>

#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

TEST_CASE("factories give the requested shapes and values") {
    auto z = Tensor<float>::zeros({2, 3});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.size() == 6);
    CHECK(z.at({1, 2}) == 0.0f);
    CHECK(Tensor<double>::ones({4}).at({3}) == 1.0);
    CHECK(Tensor<double>::full({2, 2}, 7.5).at({1, 1}) == 7.5);
    CHECK(Tensor<double>::scalar(3.0).item() == 3.0);
    CHECK(Tensor<double>::scalar(3.0).dim() == 0);
    auto d = Tensor<double>::from_data({1, 2, 3, 4, 5, 6}, {3, 2});
    CHECK(d.at({2, 0}) == 5.0);
    auto o = Tensor<double>::of({{1.0, 2.0}, {3.0, 4.0}});
    CHECK(o.at({1, 0}) == 3.0);
}

TEST_CASE("random factories are reproducible from their seed and respect their range") {
    auto a = Tensor<double>::uniform({100}, -2.0, 3.0, 42);
    auto b = Tensor<double>::uniform({100}, -2.0, 3.0, 42);
    auto c = Tensor<double>::uniform({100}, -2.0, 3.0, 43);
    CHECK(a.data() == b.data());
    CHECK(a.data() != c.data());
    for (double v : a.data()) CHECK((v >= -2.0 && v < 3.0));
    auto n = Tensor<double>::normal({20000}, 1.0, 2.0, 7);
    const double mean = xt::mean(n.data())();
    const double sd = xt::stddev(n.data())();
    // Standard error of the mean is 2/sqrt(20000) = 0.014; 5 of them.
    CHECK(std::abs(mean - 1.0) < 0.07);
    CHECK(std::abs(sd - 2.0) < 0.05);
}

TEST_CASE("bad factory input is an error, not a crash") {
    CHECK_THROWS_WITH_AS(Tensor<double>::from_data({1, 2, 3}, {2, 2}),
                         "Tensor::from_data: 3 values do not fill shape (2, 2) (4 elements)", Error);
    CHECK_THROWS_AS(Tensor<double>::of({{1.0, 2.0}, {3.0}}), Error);
    CHECK_THROWS_AS(Tensor<double>::uniform({2}, 1.0, 1.0, 0), Error);
    CHECK_THROWS_AS(Tensor<double>::normal({2}, 0.0, -1.0, 0), Error);
    CHECK_THROWS_WITH_AS(Tensor<double>::zeros({2}).item(), "item(): tensor of shape (2,) has 2 elements, not one",
                         Error);
    CHECK_THROWS_AS(Tensor<double>::zeros({2}).at({2}), Error);
    CHECK_THROWS_AS(Tensor<double>::zeros({2}).at({0, 0}), Error);
    CHECK_THROWS_AS(Tensor<double>().shape(), Error);
}

TEST_CASE("copies share the tensor; detach copies the values without history") {
    auto a = Tensor<double>::of({1.0, 2.0}, true);
    auto alias = a;
    alias.at({0}) = 5.0;
    CHECK(a.at({0}) == 5.0);
    auto y = a * 2.0;
    auto d = y.detach();
    CHECK(d.is_leaf());
    CHECK_FALSE(d.requires_grad());
    CHECK(d.at({0}) == 10.0);
    d.at({0}) = 0.0;
    CHECK(y.at({0}) == 10.0);
}

TEST_CASE("printing shows values, shape and history") {
    auto a = Tensor<double>::of({1.0, 2.0}, true);
    std::ostringstream leaf, made;
    leaf << a;
    made << a * 2.0;
    CHECK(leaf.str().find("shape=(2,)") != std::string::npos);
    CHECK(leaf.str().find("requires_grad=true") != std::string::npos);
    CHECK(made.str().find("grad_fn=mul_scalar") != std::string::npos);
    CHECK(made.str().find("4") != std::string::npos);
}
