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

TEST_CASE("method forms: x.op(args) is op(x, args), value and recorded op alike") {
    using namespace tapegrad;
    const auto x = Tensor<double>::of({{0.5, -1.0, 2.0}, {1.5, 0.25, -3.0}}, true);
    const auto y = Tensor<double>::of({{1.0, -1.0, 0.0}, {2.0, 0.25, 4.0}}, true);
    const auto same = [](const Tensor<double>& method, const Tensor<double>& free) {
        INFO(method, " vs ", free);
        CHECK(method.shape() == free.shape());
        CHECK(xt::all(xt::equal(method.data(), free.data()) || (xt::isnan(method.data()) && xt::isnan(free.data()))));
        CHECK(std::string(method.op_name()) == free.op_name());
        CHECK(method.requires_grad() == free.requires_grad());
    };
    same(x.sum(), sum(x));
    same(x.sum(1, true), sum(x, 1, true));
    same(x.sum(0), sum(x, 0));
    same(x.mean(), mean(x));
    same(x.mean(-1, true), mean(x, -1, true));
    same(x.max(1), max(x, 1));
    same(x.min(0, true), min(x, 0, true));
    same(x.logsumexp(1), logsumexp(x, 1));
    CHECK(x.argmax() == argmax(x));
    CHECK(x.argmax(1, true) == argmax(x, 1, true));
    CHECK(x.argmin() == argmin(x));
    CHECK(x.argmin(0) == argmin(x, 0));
    same(x.neg(), neg(x));
    same(x.exp(), exp(x));
    same(x.log(), log(x));  // NaN where x < 0, on both sides
    same(x.log1p(), log1p(x));
    same(x.sqrt(), sqrt(x));
    same(x.abs(), abs(x));
    same(x.erf(), erf(x));
    same(x.pow(3.0), pow(x, 3.0));
    same(x.relu(), relu(x));
    same(x.sigmoid(), sigmoid(x));
    same(x.tanh(), tanh(x));
    same(x.clamp(-1.0, 1.0), clamp(x, -1.0, 1.0));
    same(x.clamp(std::nullopt, 0.0), clamp(x, std::nullopt, 0.0));
    same(x.softmax(1), softmax(x, 1));
    same(x.log_softmax(0), log_softmax(x, 0));
    same(x.reshape({3, 2}), reshape(x, {3, 2}));
    same(x.broadcast_to({4, 2, 3}), broadcast_to(x, {4, 2, 3}));
    same(x.t(), transpose(x));
    same(x.matmul(y.t()), matmul(x, transpose(y)));
    same(x.eq(y), eq(x, y));
    same(x.ne(y), ne(x, y));
    same(x.lt(y), lt(x, y));
    same(x.le(y), le(x, y));
    same(x.gt(y), gt(x, y));
    same(x.ge(y), ge(x, y));
    same(x.eq(0.25), eq(x, 0.25));
    same(x.ne(0.25), ne(x, 0.25));
    same(x.lt(0.25), lt(x, 0.25));
    same(x.le(0.25), le(x, 0.25));
    same(x.gt(0.25), gt(x, 0.25));
    same(x.ge(0.25), ge(x, 0.25));
    same(x.logical_and(y), logical_and(x, y));
    same(x.logical_or(y), logical_or(x, y));
    same(x.logical_xor(y), logical_xor(x, y));
    same(y.logical_not(), logical_not(y));
    same(x.log().isnan(), isnan(log(x)));
    same(x.log().isinf(), isinf(log(x)));
    same(x.log().isfinite(), isfinite(log(x)));
    same(x.permute({1, 0}), permute(x, {1, 0}));
    same(x.transpose(0, 1), transpose(x, 0, 1));
    same(x.expand({4, -1, 3}), expand(x, {4, -1, 3}));
    same(x.repeat({2, 1}), repeat(x, {2, 1}));
    same(x.masked_fill(y.gt(0.0), -1.0), masked_fill(x, gt(y, 0.0), -1.0));
    same(x.tril(), tril(x));
    same(x.triu(1), triu(x, 1));
    const Indices index = {{0, 1, 0}, {1, 1, 0}};
    same(x.gather(0, index), gather(x, 0, index));
    same(x.scatter_add(0, index, y), scatter_add(x, 0, index, y));
    // Chained, as in PyTorch: x.exp().sum(1).mean().
    same(x.exp().sum(1).mean(), mean(sum(exp(x), 1)));
}
