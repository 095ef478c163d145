// gradcheck and gradgradcheck of permute and repeat, and of the compositions
// ops.hpp builds on the ops (transpose(a, dim0, dim1), expand, split, chunk);
// their values against element-by-element loops, and their errors.
#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// The row-major flat offset of `index` in `shape`.
std::size_t offset(const Shape& shape, const Shape& index) {
    std::size_t at = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) at = at * shape[d] + index[d];
    return at;
}

// The row-major multi-index of flat offset `at` in `shape`.
Shape unravel(const Shape& shape, std::size_t at) {
    Shape index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = at % shape[d];
        at /= shape[d];
    }
    return index;
}
}  // namespace

TEST_CASE("permute: gradients for several orders, negative dims, 0-d and size-1 axes") {
    const std::vector<std::pair<Shape, std::vector<int>>> cases = {
        {{2, 3}, {1, 0}},         {{2, 3, 4}, {2, 0, 1}},     {{2, 3, 2, 4}, {0, 2, 1, 3}},
        {{1, 3, 1}, {-1, 0, -2}}, {{}, {}},                   {{3, 1}, {0, 1}}};
    for (const auto& [shape, dims] : cases) {
        INFO(shape_name(shape), " dims ", dims.size());
        check_gradients(Op::permute, [d = dims](const TL& x) { return TL{permute(x[0], d)}; }, {randn(shape, 1)});
    }
}

TEST_CASE("permute: values against a loop; (B, T, H, D) to (B, H, T, D); NaN moves with its element") {
    const Shape shape = {2, 5, 3, 4};
    Tensor<double> a = randn(shape, 2, false);
    a.data_mut()(1, 2, 0, 3) = std::nan("");
    for (const std::vector<int>& dims : std::vector<std::vector<int>>{{0, 2, 1, 3}, {3, 1, 0, 2}, {-1, -2, -3, -4}}) {
        const Tensor<double> p = permute(a, dims);
        Shape want(4);
        for (std::size_t i = 0; i < 4; ++i) want[i] = shape[std::size_t((dims[i] + 4) % 4)];
        REQUIRE(p.shape() == want);
        bool same = true;
        for (std::size_t k = 0; k < p.size(); ++k) {
            const Shape out = unravel(want, k);
            Shape in(4);
            for (std::size_t i = 0; i < 4; ++i) in[std::size_t((dims[i] + 4) % 4)] = out[i];
            const double x = a.data().data()[offset(shape, in)], y = p.data().data()[k];
            same = same && (x == y || (std::isnan(x) && std::isnan(y)));
        }
        CHECK(same);
    }
    // The identity order is a copy, a tensor of its own.
    const Tensor<double> same = permute(a, {0, 1, 2, 3});
    CHECK(!same.same_as(a));
    CHECK(xt::all(xt::equal(same.data(), a.data()) || (xt::isnan(same.data()) && xt::isnan(a.data()))));
    // The gradient of permute is the inverse permute of the output's gradient.
    auto x = randn({2, 3, 4}, 3);
    const Tensor<double> g = randn({4, 2, 3}, 4, false);
    permute(x, {2, 0, 1}).backward(g);
    CHECK(x.grad().data() == permute(g, {1, 2, 0}).data());
}

TEST_CASE("transpose(a, dim0, dim1): any rank, negative axes, 0-d; through permute") {
    const std::vector<std::tuple<Shape, int, int>> cases = {{{2, 3}, 0, 1}, {{2, 3, 4}, -1, -2}, {{2, 1, 3, 2}, 1, 3},
                                                            {{4}, 0, -1}};
    for (const auto& [shape, d0, d1] : cases) {
        INFO(shape_name(shape), " ", d0, " ", d1);
        check_gradients(Op::permute, [d0 = d0, d1 = d1](const TL& x) { return TL{transpose(x[0], d0, d1)}; },
                        {randn(shape, 5)});
    }
    Tensor<double> a = randn({2, 3, 4}, 6, false);
    Tensor<double> t = transpose(a, 0, 2);
    REQUIRE(t.shape() == Shape{4, 3, 2});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t k = 0; k < 4; ++k) CHECK(t.at({k, j, i}) == a.at({i, j, k}));
    CHECK(transpose(randn({3, 2}, 7, false), 1, 0).data() == transpose(randn({3, 2}, 7, false)).data());
    Tensor<double> s = Tensor<double>::scalar(2.5);
    CHECK(transpose(s, 0, -1).item() == 2.5);
}

TEST_CASE("repeat: gradients sum the tiles; new leading axes, repeats of 1, a 0-d tensor") {
    const std::vector<std::pair<Shape, std::vector<std::size_t>>> cases = {
        {{2, 3}, {2, 1}}, {{3}, {2, 2}}, {{2, 1, 2}, {1, 3, 2}}, {{}, {3}}, {{1, 2}, {2, 2, 1}}};
    for (const auto& [shape, repeats] : cases) {
        INFO(shape_name(shape), " repeats ", shape_name(repeats));
        check_gradients(Op::repeat, [r = repeats](const TL& x) { return TL{repeat(x[0], r)}; }, {randn(shape, 8)});
    }
}

TEST_CASE("repeat: values against a loop, as torch.Tensor.repeat; an empty result; each tile's gradient") {
    Tensor<double> a = randn({2, 3}, 9, false);
    const Tensor<double> r = repeat(a, {2, 3, 2});
    REQUIRE(r.shape() == Shape{2, 6, 6});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 6; ++j)
            for (std::size_t k = 0; k < 6; ++k) CHECK(r.at({i, j, k}) == a.at({j % 2, k % 3}));
    CHECK(repeat(a, {2, 0}).shape() == Shape{4, 0});
    CHECK(repeat(Tensor<double>::scalar(4), {}).item() == 4);
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    // Tiles weighted 1, 10, 100: each element's gradient adds its three copies' weights.
    sum(mul(repeat(x, {3}), Tensor<double>::of({1.0, 1.0, 10.0, 10.0, 100.0, 100.0}))).backward();
    CHECK(x.grad().data() == xt::xarray<double>{111, 111});
}

TEST_CASE("expand: broadcast_to with -1 kept and new leading axes") {
    const Tensor<double> a = randn({2, 1}, 10, false);
    const Tensor<double> e = expand(a, {3, -1, 4});
    REQUIRE(e.shape() == Shape{3, 2, 4});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t k = 0; k < 4; ++k) CHECK(e.at({i, j, k}) == a.at({j, 0}));
    CHECK(expand(a, {2, 0}).shape() == Shape{2, 0});
    CHECK(expand(a, {-1, -1}).same_as(a));
    // Gradients through it are broadcast_to's: summed back over the copies.
    for (const auto& [shape, sizes] : std::vector<std::pair<Shape, std::vector<std::int64_t>>>{
             {{2, 1}, {-1, 3}}, {{3}, {2, -1}}, {{}, {2, 2}}, {{1, 1}, {2, 3, 4}}}) {
        INFO(shape_name(shape));
        check_gradients(Op::broadcast_to, [s = sizes](const TL& x) { return TL{expand(x[0], s)}; }, {randn(shape, 11)});
    }
}

TEST_CASE("split and chunk: pieces as torch.split and torch.chunk, values and a gradient through them") {
    const Tensor<double> a = randn({7, 2}, 12, false);
    auto extents = [](const TensorList<double>& parts, std::size_t axis) {
        Shape e;
        for (const auto& p : parts) e.push_back(p.shape()[axis]);
        return e;
    };
    CHECK(extents(split(a, 3), 0) == Shape{3, 3, 1});
    CHECK(extents(split(a, 7), 0) == Shape{7});
    CHECK(extents(split(a, 9), 0) == Shape{7});
    CHECK(extents(split(a, 1, -1), 1) == Shape{1, 1});
    CHECK(extents(split(a, std::vector<std::size_t>{2, 0, 5}), 0) == Shape{2, 0, 5});
    CHECK(extents(chunk(a, 3), 0) == Shape{3, 3, 1});
    CHECK(extents(chunk(randn({6}, 13, false), 4), 0) == Shape{2, 2, 2});  // fewer pieces, as torch.chunk
    CHECK(extents(chunk(a, 10), 0) == Shape{1, 1, 1, 1, 1, 1, 1});
    CHECK(extents(chunk(Tensor<double>::zeros({0, 2}), 3), 0) == Shape{0, 0, 0});
    CHECK(extents(split(Tensor<double>::zeros({0}), 0), 0) == Shape{0});
    CHECK(extents(split(Tensor<double>::zeros({0}), 2), 0) == Shape{0});
    // Each piece holds its own rows, in order.
    const TensorList<double> pieces = split(a, std::vector<std::size_t>{2, 5});
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < 2; ++j) CHECK(pieces[i < 2 ? 0 : 1].at({i < 2 ? i : i - 2, j}) == a.at({i, j}));
    // The gradient of the pieces reaches each slice once: through narrow.
    check_gradients(Op::narrow, [](const TL& x) {
        const TL q = chunk(x[0], 2, 1);
        return TL{mul(q[0], q[1])};
    }, {randn({3, 4}, 14)});
    auto x = Tensor<double>::of({1.0, 2.0, 3.0, 4.0, 5.0}, true);
    const TensorList<double> parts = split(x, 2);
    sum(mul(parts[0], 2.0)).backward();
    sum(mul(parts[2], 7.0)).backward();
    CHECK(x.grad().data() == xt::xarray<double>{2, 2, 0, 0, 7});
}

TEST_CASE("layout ops: errors name the op, the shape and the arguments") {
    const auto a = Tensor<double>::zeros({2, 3});
    CHECK(error_of([&] { permute(a, {0, 0}); }) == "permute: dims (0, 0) are not a permutation of the axes of shape (2, 3)");
    CHECK(error_of([&] { permute(a, {0}); }) == "permute: dims (0) are not a permutation of the axes of shape (2, 3)");
    CHECK(error_of([&] { permute(a, {0, 2}); }) == "permute: dims (0, 2) are not a permutation of the axes of shape (2, 3)");
    CHECK(error_of([&] { permute(a, {-3, 1}); }) == "permute: dims (-3, 1) are not a permutation of the axes of shape (2, 3)");
    CHECK(error_of([&] { transpose(a, 0, 2); }) == "transpose: axis 2 is out of range for shape (2, 3)");
    CHECK(error_of([&] { transpose(Tensor<double>::scalar(1), 0, 1); }) == "transpose: axis 1 is out of range for shape ()");
    CHECK(error_of([&] { repeat(a, {2}); }) == "repeat: 1 repeats given for shape (2, 3), which has 2 axes");
    CHECK(error_of([&] { repeat(a, {std::size_t(1) << 63, 1}); }) ==
          "repeat: 9223372036854775808 repeats of axis 0 of shape (2, 3) overflow");
    CHECK(error_of([&] { expand(a, {3}); }) == "expand: 1 sizes given for shape (2, 3), which has 2 axes");
    CHECK(error_of([&] { expand(a, {-1, 2, 3}); }) ==
          "expand: size -1 at position 0 does not fit shape (2, 3) (a new leading axis needs a size >= 0)");
    CHECK(error_of([&] { expand(a, {4, 3}); }) == "expand: size 4 at position 0 does not fit shape (2, 3) (only an extent of 1 changes)");
    CHECK(error_of([&] { expand(a, {2, -2}); }) == "expand: size -2 at position 1 does not fit shape (2, 3) (only an extent of 1 changes)");
    CHECK(error_of([&] { split(a, 0, 1); }) == "split: split_size 0 cannot cut axis 1 of shape (2, 3)");
    CHECK(error_of([&] { split(a, std::vector<std::size_t>{1, 1}, 1); }) ==
          "split: sizes (1, 1) do not add up to the extent 3 of axis 1 of shape (2, 3)");
    CHECK(error_of([&] { split(a, std::vector<std::size_t>{2, ~std::size_t(0)}, 1); }) ==
          "split: sizes (2, 18446744073709551615) do not add up to the extent 3 of axis 1 of shape (2, 3)");
    CHECK(error_of([&] { split(a, 1, 2); }) == "split: axis 2 is out of range for shape (2, 3)");
    CHECK(error_of([&] { split(Tensor<double>::scalar(1), 1); }) == "split: axis 0 is out of range for shape ()");
    CHECK(error_of([&] { chunk(a, 0); }) == "chunk: chunks must be > 0, got 0");
    CHECK(error_of([&] { chunk(a, 2, -3); }) == "chunk: axis -3 is out of range for shape (2, 3)");
}
