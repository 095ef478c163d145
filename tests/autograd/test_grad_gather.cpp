// gradcheck and gradgradcheck of gather and scatter_add, their values against
// loops over the index, and their errors; one_hot, the factory of indices.
#include <cmath>
#include <limits>

#include <xtensor/xadapt.hpp>

#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// Seeded indices of `shape`, each in [0, extent).
Indices random_indices(const Shape& shape, std::size_t extent, std::uint64_t seed) {
    const Tensor<double> u = Tensor<double>::uniform(shape, 0, double(extent), seed);
    return xt::cast<std::int64_t>(xt::floor(u.data()));
}

// `values` in `shape` (a brace list of one-element rows is ambiguous to xarray).
Indices shaped(Indices values, const Shape& shape) {
    values.reshape(shape);
    return values;
}
}  // namespace

TEST_CASE("gather: gradients along each axis, repeated indices, a 0-d tensor") {
    struct Case {
        Shape a;
        int axis;
        Shape index;
    };
    for (const Case& c : std::vector<Case>{{{4, 3}, 0, {5, 3}}, {{4, 3}, 1, {2, 2}}, {{2, 3, 4}, -1, {2, 3, 6}},
                                           {{2, 3, 4}, 1, {1, 2, 2}}, {{5}, 0, {3}}}) {
        INFO(shape_name(c.a), " axis ", c.axis, " index ", shape_name(c.index));
        const std::size_t extent = c.a[std::size_t((c.axis + int(c.a.size())) % int(c.a.size()))];
        const Indices index = random_indices(c.index, extent, 70);
        check_gradients(Op::gather, [c, index](const TL& x) { return TL{gather(x[0], c.axis, index)}; }, {randn(c.a, 71)});
    }
    check_gradients(Op::gather, [](const TL& x) { return TL{gather(x[0], 0, Indices(0))}; }, {randn({}, 72)});
}

TEST_CASE("gather: values against a loop, as torch.gather; NaN is gathered as it is") {
    Tensor<double> a = randn({3, 4, 5}, 73, false);
    a.data_mut()(1, 2, 3) = std::nan("");
    for (int axis : {0, 1, 2}) {
        const Shape ishape = {2, 3, 4};
        const Indices index = random_indices(ishape, a.shape()[std::size_t(axis)], 74 + std::uint64_t(axis));
        const Tensor<double> out = gather(a, axis, index);
        REQUIRE(out.shape() == ishape);
        bool same = true;
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < 3; ++j)
                for (std::size_t k = 0; k < 4; ++k) {
                    std::size_t at[3] = {i, j, k};
                    at[axis] = std::size_t(index(i, j, k));
                    const double want = a.data()(at[0], at[1], at[2]), got = out.data()(i, j, k);
                    same = same && (want == got || (std::isnan(want) && std::isnan(got)));
                }
        CHECK(same);
    }
    CHECK(gather(a, 1, Indices::from_shape({3, 0, 5})).shape() == Shape{3, 0, 5});
    // Repeated indices add up their gradients.
    auto x = Tensor<double>::of({10.0, 20.0, 30.0}, true);
    sum(gather(x, 0, Indices{2, 0, 2, 2})).backward();
    CHECK(x.grad().data() == xt::xarray<double>{1, 0, 3});
}

TEST_CASE("scatter_add: gradients for both inputs, src larger than the index") {
    struct Case {
        Shape a;
        int axis;
        Shape index, src;
    };
    for (const Case& c : std::vector<Case>{{{4, 3}, 0, {5, 3}, {5, 3}}, {{4, 3}, 1, {2, 2}, {3, 4}},
                                           {{2, 3, 4}, -1, {2, 3, 6}, {2, 3, 6}}, {{2, 1, 3}, 0, {3, 1, 2}, {4, 1, 3}},
                                           {{}, 0, {}, {}}}) {
        INFO(shape_name(c.a), " axis ", c.axis, " index ", shape_name(c.index), " src ", shape_name(c.src));
        const std::size_t extent = c.a.empty() ? 1 : c.a[std::size_t((c.axis + int(c.a.size())) % int(c.a.size()))];
        const Indices index = random_indices(c.index, extent, 80);
        check_gradients(Op::scatter_add, [c, index](const TL& x) { return TL{scatter_add(x[0], c.axis, index, x[1])}; },
                        {randn(c.a, 81), randn(c.src, 82)});
    }
}

TEST_CASE("scatter_add: values against a loop, as torch.scatter_add; the unused part of src gets 0") {
    const Tensor<double> a = randn({3, 4}, 83, false), src = randn({2, 5}, 84, false);
    const Indices index = {{2, 0, 2}, {1, 3, 3}};
    for (int axis : {0, 1}) {
        const Indices idx = axis == 0 ? Indices{{2, 0, 2}, {1, 1, 0}} : index;
        const Tensor<double> out = scatter_add(a, axis, idx, src);
        Array<double> want = a.data();
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < 3; ++j)
                (axis == 0 ? want(std::size_t(idx(i, j)), j) : want(i, std::size_t(idx(i, j)))) += src.at({i, j});
        CHECK(xt::allclose(out.data(), want, 0, 1e-15));  // the same additions, maybe in another order
    }
    auto s = Tensor<double>::of({{1.0, 2.0, 3.0}}, true);
    auto base = Tensor<double>::zeros({2, 3}, true);
    const Tensor<double> g = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    scatter_add(base, 1, Indices{{2, 2}}, s).backward(g);
    CHECK(s.grad().data() == xt::xarray<double>{{3, 3, 0}});  // both read g(0, 2); the third is unused
    CHECK(base.grad().data() == g.data());
}

TEST_CASE("gather and scatter_add: errors name the op, the shapes and the index") {
    const auto a = Tensor<double>::zeros({2, 3});
    CHECK(error_of([&] { gather(a, 1, Indices{0}); }) == "gather: index of shape (1,) has another rank than the input of shape (2, 3)");
    CHECK(error_of([&] { gather(a, 1, shaped({0, 1, 2}, {3, 1})); }) ==
          "gather: index of shape (3, 1) is larger outside axis 1 than the input of shape (2, 3)");
    CHECK(error_of([&] { gather(a, 1, Indices{{0, 3}}); }) ==
          "gather: index 3 at flat position 1 is out of range for axis 1 of shape (2, 3)");
    CHECK(error_of([&] { gather(a, 0, Indices{{0, -1}}); }) ==
          "gather: index -1 at flat position 1 is out of range for axis 0 of shape (2, 3)");
    CHECK(error_of([&] { gather(a, 2, shaped({0}, {1, 1})); }) == "gather: axis 2 is out of range for shape (2, 3)");
    CHECK(error_of([&] { gather(Tensor<double>::scalar(1), 0, Indices(1)); }) ==
          "gather: index 1 at flat position 0 is out of range for axis 0 of shape ()");
    CHECK(error_of([&] { scatter_add(a, 1, Indices{{0, 1}}, Tensor<double>::zeros({1, 1})); }) ==
          "scatter_add: index of shape (1, 2) does not fit src of shape (1, 1) and the input of shape (2, 3)");
    CHECK(error_of([&] { scatter_add(a, 1, Indices{{0, 1}}, Tensor<double>::zeros({2})); }) ==
          "scatter_add: index of shape (1, 2) does not fit src of shape (2,) and the input of shape (2, 3)");
    CHECK(error_of([&] { scatter_add(a, 0, shaped({2}, {1, 1}), Tensor<double>::zeros({1, 1})); }) ==
          "scatter_add: index 2 at flat position 0 is out of range for axis 0 of shape (2, 3)");
    // A call that throws records nothing and changes nothing.
    auto x = Tensor<double>::zeros({2, 3}, true);
    CHECK(!error_of([&] { scatter_add(x, 0, shaped({5}, {1, 1}), x); }).empty());
    CHECK(x.data() == xt::zeros<double>({2, 3}));
}

TEST_CASE("one_hot: as torch.nn.functional.one_hot, of any index shape; errors") {
    const Indices labels = {{2, 0}, {1, 2}};
    const Tensor<double> h = one_hot<double>(labels);
    REQUIRE(h.shape() == Shape{2, 2, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t c = 0; c < 3; ++c) CHECK(h.at({i, j, c}) == (std::int64_t(c) == labels(i, j) ? 1 : 0));
    CHECK(!h.requires_grad());
    CHECK(one_hot<float>(Indices{1, 0}, 4).data() == xt::xarray<float>{{0, 1, 0, 0}, {1, 0, 0, 0}});
    CHECK(one_hot<double>(Indices(2)).data() == xt::xarray<double>{0, 0, 1});
    // Class labels (a Labels vector) through an adaptor, as data sets hold them.
    CHECK(one_hot<float>(xt::adapt(Labels{2, 0}), 3).data() == xt::xarray<float>{{0, 0, 1}, {1, 0, 0}});
    CHECK(one_hot<double>(Indices::from_shape({0}), 0).shape() == Shape{0, 0});
    CHECK(error_of([] { one_hot<double>(Indices{1, 3}, 3); }) ==
          "one_hot: index 3 at flat position 1 of indices of shape (2,) is not in [0, 3)");
    CHECK(error_of([] { one_hot<double>(Indices{0, -1}); }) ==
          "one_hot: index -1 at flat position 1 of indices of shape (2,) is not in [0, 1)");
    CHECK(error_of([] { one_hot<double>(Indices::from_shape({0})); }) ==
          "one_hot: cannot infer the number of classes from indices of shape (0,)");
    CHECK(error_of([] { one_hot<double>(Indices{1}, -2); }) == "one_hot: num_classes -2 is neither -1 (inferred) nor >= 0");
}

TEST_CASE("zeros_like, ones_like, full_like, rand_like, randn_like: a's shape, seeded") {
    const Tensor<double> a = randn({2, 3}, 90, false);
    CHECK(zeros_like(a).data() == xt::zeros<double>({2, 3}));
    CHECK(ones_like(a, true).requires_grad());
    CHECK(ones_like(a).data() == xt::ones<double>({2, 3}));
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(full_like(a, -inf).data() == xt::xarray<double>{{-inf, -inf, -inf}, {-inf, -inf, -inf}});
    CHECK(full_like(Tensor<float>::scalar(1), 2.5).item() == 2.5f);
    CHECK(rand_like(a, 5).data() == Tensor<double>::uniform({2, 3}, 0, 1, 5).data());
    CHECK(randn_like(a, 5).data() == Tensor<double>::normal({2, 3}, 0, 1, 5).data());
    CHECK(rand_like(a, 5).data() != rand_like(a, 6).data());
    CHECK(xt::all(rand_like(a, 7).data() >= 0.0 && rand_like(a, 7).data() < 1.0));
}
