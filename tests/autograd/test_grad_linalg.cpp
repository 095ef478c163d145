// matmul (all transpose flags), linear, transpose, reshape, broadcast_to, sum_to.
#include <numeric>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/autograd/blas.hpp>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

TEST_CASE("matmul: gradients for every transpose flag and several shapes") {
    // (m, k, n) of op(A) (m x k) times op(B) (k x n)
    const std::vector<std::array<std::size_t, 3>> dims = {{3, 4, 5}, {1, 3, 1}, {5, 2, 3}, {4, 1, 2}};
    for (const auto& [m, k, n] : dims)
        for (bool ta : {false, true})
            for (bool tb : {false, true}) {
                INFO("m k n = ", m, " ", k, " ", n, ", ta = ", ta, ", tb = ", tb);
                Tensor<double> a = randn(ta ? Shape{k, m} : Shape{m, k}, 21);
                Tensor<double> b = randn(tb ? Shape{n, k} : Shape{k, n}, 22);
                check_gradients(Op::matmul, [ta = ta, tb = tb](const TL& x) { return TL{matmul(x[0], x[1], ta, tb)}; },
                                {a, b});
            }
}

TEST_CASE("matmul: forward values by hand, with flags equal to explicit transposes") {
    auto a = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto b = Tensor<double>::of({{7.0, 8.0}, {9.0, 10.0}, {11.0, 12.0}});
    auto c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 2});
    CHECK(c.at({0, 0}) == 58.0);
    CHECK(c.at({0, 1}) == 64.0);
    CHECK(c.at({1, 0}) == 139.0);
    CHECK(c.at({1, 1}) == 154.0);
    auto at = transpose(a), bt = transpose(b);
    CHECK(matmul(at, b, true, false).data() == c.data());
    CHECK(matmul(a, bt, false, true).data() == c.data());
    CHECK(matmul(at, bt, true, true).data() == c.data());
}

TEST_CASE("linear: gradients for input, weight and bias on several shapes") {
    // (batch, in, out)
    const std::vector<std::array<std::size_t, 3>> dims = {{3, 4, 5}, {1, 3, 1}, {5, 1, 2}, {2, 6, 3}};
    for (const auto& [batch, in, out] : dims) {
        INFO("batch in out = ", batch, " ", in, " ", out);
        check_gradients(Op::linear, [](const TL& x) { return TL{linear(x[0], x[1], x[2])}; },
                        {randn({batch, in}, 31), randn({out, in}, 32), randn({out}, 33)});
    }
}

TEST_CASE("linear: the values of x W^T + b, and errors that name the shapes") {
    auto x = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto w = Tensor<double>::of({{1.0, 0.0, -1.0}, {0.5, 0.5, 0.5}});
    auto b = Tensor<double>::of({10.0, -3.0});
    // Row 0: (1 - 3, 0.5 + 1 + 1.5) + b = (8, 0); row 1: (4 - 6, 2 + 2.5 + 3) + b = (8, 4.5).
    CHECK(linear(x, w, b).data() == xt::xarray<double>{{8.0, 0.0}, {8.0, 4.5}});
    // No inner extent: the bias alone; no rows: an empty (0, out) result.
    CHECK(linear(Tensor<double>::zeros({2, 0}), Tensor<double>::zeros({2, 0}), b).data() ==
          xt::xarray<double>{{10.0, -3.0}, {10.0, -3.0}});
    CHECK(linear(Tensor<double>::zeros({0, 3}), w, b).shape() == Shape{0, 2});
    CHECK_THROWS_WITH_AS(linear(x, transpose(w), b),
                         "linear: expects input (batch, in), weight (out, in) and bias (out), got (2, 3), (3, 2) and (2,)",
                         Error);
    CHECK_THROWS_AS(linear(x, w, Tensor<double>::zeros({3})), Error);
    CHECK_THROWS_AS(linear(x, w, Tensor<double>::zeros({1, 2})), Error);
}

TEST_CASE("matmul: misaligned or non-2-D shapes are errors that name them") {
    auto a = Tensor<double>::zeros({2, 3});
    auto b = Tensor<double>::zeros({4, 5});
    CHECK_THROWS_WITH_AS(matmul(a, b), "matmul: shapes (2, 3) and (4, 5) are not aligned (3 != 4)", Error);
    CHECK_THROWS_WITH_AS(matmul(a, Tensor<double>::zeros({4})), "matmul: shapes (2, 3) and (4,) are not aligned (3 != 4)",
                         Error);
    CHECK_THROWS_WITH_AS(matmul(a, b, true, false), "matmul: shapes (2, 3)^T and (4, 5) are not aligned (2 != 4)", Error);
    CHECK(matmul(a, Tensor<double>::zeros({2, 5}), true, false).shape() == Shape{3, 5});
}

TEST_CASE("transpose and reshape: gradients and values") {
    for (const Shape& s : {Shape{3, 4}, Shape{1, 5}, Shape{6, 1}}) {
        INFO(shape_name(s));
        check_gradients(Op::transpose, [](const TL& x) { return TL{transpose(x[0])}; }, {randn(s, 31)});
    }
    const std::vector<std::pair<Shape, Shape>> reshapes = {
        {{3, 4}, {12}}, {{2, 6}, {3, 2, 2}}, {{5}, {1, 5, 1}}, {{1, 5, 1}, {5}}, {{}, {1, 1}}};
    for (const auto& [from, to] : reshapes) {
        INFO(shape_name(from), " -> ", shape_name(to));
        check_gradients(Op::reshape, [to = to](const TL& x) { return TL{reshape(x[0], to)}; }, {randn(from, 32)});
    }
    auto a = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    CHECK(transpose(a).at({2, 1}) == 6.0);
    CHECK(reshape(a, {3, 2}).at({1, 0}) == 3.0);
    CHECK_THROWS_WITH_AS(reshape(a, {4, 2}), "reshape: cannot reshape (2, 3) (6 elements) to (4, 2)", Error);
}

TEST_CASE("broadcast_to and sum_to are each other's gradient") {
    const std::vector<std::pair<Shape, Shape>> cases = {{{4}, {3, 4}},    {{3, 1}, {3, 5}}, {{1, 2, 1}, {3, 2, 4}},
                                                         {{}, {2, 2}},    {{}, {1}},        {{1}, {4, 1}}};
    for (const auto& [small, big] : cases) {
        INFO(shape_name(small), " <-> ", shape_name(big));
        check_gradients(Op::broadcast_to, [big = big](const TL& x) { return TL{broadcast_to(x[0], big)}; },
                        {randn(small, 41)});
        check_gradients(Op::sum_to, [small = small](const TL& x) { return TL{sum_to(x[0], small)}; }, {randn(big, 42)});
    }
    auto s = sum_to(Tensor<double>::of({{1.0, 2.0}, {3.0, 4.0}}), {1, 2});
    CHECK(s.at({0, 0}) == 4.0);
    CHECK(s.at({0, 1}) == 6.0);
    CHECK_THROWS_AS(broadcast_to(Tensor<double>::zeros({3}), {4}), Error);
    // An empty batch sums to zeros, over leading axes or not (a conv2d bias gradient).
    CHECK(sum_to(Tensor<double>::zeros({0, 3, 2}), {3, 1}).data() == Array<double>(xt::zeros<double>(Shape{3, 1})));
    CHECK(sum_to(Tensor<double>::zeros({0, 3}), {3}).data() == Array<double>(xt::zeros<double>(Shape{3})));
}

namespace {
// torch.matmul by its definition, with loops: flags transpose the last two
// axes, a 1-D a is a (1, k) row and a 1-D b a (k, 1) column (that axis is
// dropped after), the batch axes broadcast (xt::broadcast of each operand to
// the common batch), then a triple loop per batch element.
xt::xarray<double> matmul_by_loops(xt::xarray<double> a, xt::xarray<double> b, bool ta, bool tb) {
    const bool row = a.dimension() == 1, column = b.dimension() == 1;
    if (row) a.reshape({1, a.size()});
    if (column) b.reshape({b.size(), 1});
    const auto last_two_swapped = [](const xt::xarray<double>& x) {
        std::vector<std::size_t> axes(x.dimension());
        std::iota(axes.begin(), axes.end(), std::size_t(0));
        std::swap(axes[axes.size() - 1], axes[axes.size() - 2]);
        return xt::xarray<double>(xt::transpose(x, axes));
    };
    if (ta) a = last_two_swapped(a);
    if (tb) b = last_two_swapped(b);
    const Shape as(a.shape().begin(), a.shape().end()), bs(b.shape().begin(), b.shape().end());
    const Shape batch = broadcast_shapes("test", Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
    const std::size_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    Shape a_full = batch, b_full = batch, out = batch;
    a_full.insert(a_full.end(), {m, k});
    b_full.insert(b_full.end(), {k, n});
    out.insert(out.end(), {m, n});
    xt::xarray<double> A = xt::broadcast(a, a_full), B = xt::broadcast(b, b_full), C = xt::zeros<double>(out);
    std::size_t count = 1;
    for (std::size_t e : batch) count *= e;
    for (std::size_t e = 0; e < count; ++e)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                double acc = 0;
                for (std::size_t p = 0; p < k; ++p) acc += A.data()[(e * m + i) * k + p] * B.data()[(e * k + p) * n + j];
                C.data()[(e * m + i) * n + j] = acc;
            }
    Shape dropped = out;
    if (column) dropped.pop_back();
    if (row) dropped.erase(dropped.end() - (column ? 1 : 2));
    C.reshape(dropped);
    return C;
}

// (a's shape, b's shape, transpose_a, transpose_b, the product's shape)
struct ProductCase {
    Shape a, b;
    bool ta, tb;
    Shape out;
};
const std::vector<ProductCase> kProducts = {
    {{3}, {3}, false, false, {}},                      // dot product
    {{2, 3}, {3}, false, false, {2}},                  // matrix @ vector
    {{3, 2}, {3}, true, false, {2}},
    {{3}, {3, 4}, false, false, {4}},                  // vector @ matrix
    {{3}, {4, 3}, false, true, {4}},
    {{2, 3, 4}, {4, 5}, false, false, {2, 3, 5}},      // folded into one GEMM
    {{2, 3, 4}, {5, 4}, false, true, {2, 3, 5}},       // folded, b transposed
    {{2, 4, 3}, {4, 5}, true, false, {2, 3, 5}},       // a transposed: one GEMM per batch element
    {{4}, {2, 4, 3}, false, false, {2, 3}},            // vector @ batch
    {{2, 3, 4}, {4}, false, false, {2, 3}},            // batch @ vector
    {{2, 1, 3, 4}, {5, 4, 2}, false, false, {2, 5, 3, 2}},  // batch axes broadcast both ways
    {{2, 1, 4, 3}, {5, 2, 4}, true, true, {2, 5, 3, 2}},
    {{3, 4}, {2, 4, 5}, false, false, {2, 3, 5}},      // a 2-D, b batched
    {{1, 3, 1}, {2, 1, 2}, false, false, {2, 3, 2}},   // size-1 edges: k = 1, broadcast batch of 1
    {{2, 2, 3, 1}, {2, 2, 1, 3}, false, false, {2, 2, 3, 3}},  // attention's (B, H, T, D) @ (B, H, D, T)
    {{2, 2, 3, 2}, {2, 2, 3, 2}, false, true, {2, 2, 3, 3}},   // q @ k^T with k (B, H, T, D)
};
}  // namespace

TEST_CASE("matmul: torch.matmul's 1-D and batched forms, against loops") {
    std::uint64_t seed = 50;
    for (const auto& c : kProducts) {
        INFO(shape_name(c.a), (c.ta ? "^T" : ""), " @ ", shape_name(c.b), (c.tb ? "^T" : ""));
        const Tensor<double> a = randn(c.a, ++seed, false), b = randn(c.b, ++seed, false);
        const Tensor<double> product = matmul(a, b, c.ta, c.tb);
        CHECK(product.shape() == c.out);
        // Sums of a few products of N(0, 1) values in another order: rounding only.
        CHECK(xt::allclose(product.data(), matmul_by_loops(a.data(), b.data(), c.ta, c.tb), 1e-14, 1e-14));
        // Float too, on the same values: float rounding, relative 1e-6 of sums of k <= 4 terms.
        const Tensor<float> af(xt::xarray<float>(xt::cast<float>(a.data()))), bf(xt::xarray<float>(xt::cast<float>(b.data())));
        CHECK(xt::allclose(xt::xarray<double>(xt::cast<double>(matmul(af, bf, c.ta, c.tb).data())), product.data(), 1e-5,
                           1e-5));
        // Eigen's products on this thread alone: the same up to rounding.
        OneThreadProductsGuard one_thread;
        CHECK(xt::allclose(matmul(a, b, c.ta, c.tb).data(), product.data(), 1e-14, 1e-14));
    }
    // By hand: (2, 1, 2) @ (2,) and a batch of two 2x2 products against one matrix.
    auto m = Tensor<double>::of({{{1.0, 2.0}}, {{3.0, 4.0}}});
    const auto mv = matmul(m, Tensor<double>::of({10.0, 1.0}));
    CHECK(mv.shape() == Shape{2, 1});
    CHECK(mv.at({0, 0}) == 12.0);
    CHECK(mv.at({1, 0}) == 34.0);
    auto batch = Tensor<double>::of({{{1.0, 0.0}, {0.0, 1.0}}, {{0.0, 1.0}, {1.0, 0.0}}});
    auto w = Tensor<double>::of({{1.0, 2.0}, {3.0, 4.0}});
    CHECK(matmul(batch, w).data() == xt::xarray<double>{{{1.0, 2.0}, {3.0, 4.0}}, {{3.0, 4.0}, {1.0, 2.0}}});
    CHECK(matmul(w, batch).data() == xt::xarray<double>{{{1.0, 2.0}, {3.0, 4.0}}, {{2.0, 1.0}, {4.0, 3.0}}});
}

TEST_CASE("matmul: gradients of the 1-D and batched forms, summed over broadcast batch axes") {
    std::uint64_t seed = 70;
    for (const auto& c : kProducts) {
        INFO(shape_name(c.a), (c.ta ? "^T" : ""), " @ ", shape_name(c.b), (c.tb ? "^T" : ""));
        check_gradients(Op::matmul, [ta = c.ta, tb = c.tb](const TL& x) { return TL{matmul(x[0], x[1], ta, tb)}; },
                        {randn(c.a, ++seed), randn(c.b, ++seed)});
    }
    // One operand without a gradient: the other's alone, folded path and per-element path.
    for (bool ta : {false, true}) {
        const Tensor<double> a = randn(ta ? Shape{2, 4, 3} : Shape{2, 3, 4}, 90, false);
        check_gradients(Op::matmul, [a, ta](const TL& x) { return TL{matmul(a, x[0], ta)}; }, {randn({4, 2}, 91)});
    }
}

TEST_CASE("matmul: empty batches and extents, errors naming the shapes, work counted") {
    CHECK(matmul(Tensor<double>::zeros({0, 3, 4}), Tensor<double>::zeros({4, 5})).shape() == Shape{0, 3, 5});
    CHECK(matmul(Tensor<double>::zeros({2, 3, 0}), Tensor<double>::zeros({1, 0, 5})).data() ==
          xt::xarray<double>(xt::zeros<double>({2, 3, 5})));
    CHECK(matmul(Tensor<double>::zeros({0}), Tensor<double>::zeros({0})).data() == xt::xarray<double>(0.0));
    // Gradients of an empty batch: empty, of the inputs' shapes; b's is zeros.
    {
        auto a = randn({0, 3, 4}, 1), b = randn({2, 0, 4, 5}, 2);
        sum(matmul(a, b)).backward();
        CHECK(a.grad().shape() == Shape{0, 3, 4});
        CHECK(b.grad().shape() == Shape{2, 0, 4, 5});
    }
    {
        auto a = randn({0, 3, 4}, 1), b = randn({4, 5}, 2);
        sum(matmul(a, b)).backward();
        CHECK(b.grad().data() == xt::xarray<double>(xt::zeros<double>({4, 5})));
    }
    const auto z = [](const Shape& s) { return Tensor<double>::zeros(s); };
    CHECK_THROWS_WITH_AS(matmul(z({}), z({3})), "matmul: expects tensors of at least 1 dimension, got shapes () and (3,)",
                         Error);
    CHECK_THROWS_WITH_AS(matmul(z({3}), z({3}), true, false),
                         "matmul: a transpose flag needs at least 2 dimensions, got shapes (3,)^T and (3,)", Error);
    CHECK_THROWS_WITH_AS(matmul(z({2, 3, 4}), z({5, 4}), false, false),
                         "matmul: shapes (2, 3, 4) and (5, 4) are not aligned (4 != 5)", Error);
    CHECK_THROWS_WITH_AS(matmul(z({3}), z({2, 4, 3})), "matmul: shapes (3,) and (2, 4, 3) are not aligned (3 != 4)",
                         Error);
    CHECK_THROWS_WITH_AS(matmul(z({2, 3, 4}), z({3, 4, 5})),
                         "matmul: the batch dimensions of shapes (2, 3, 4) and (3, 4, 5) do not broadcast ((2,) and (3,))",
                         Error);
    // A throwing call records nothing.
    const std::size_t nodes = live_graph_nodes();
    CHECK_THROWS_AS(matmul(randn({2, 3, 4}, 1), randn({3, 4, 5}, 2)), Error);
    CHECK(live_graph_nodes() == nodes);
    // Every path counts its multiply-adds, the folded one and the per-element one alike.
    ProductWorkCounter counter;
    matmul(z({2, 3, 4}), z({4, 5}));
    CHECK(counter.multiply_adds() == 2 * 3 * 4 * 5);
    matmul(z({2, 1, 3, 4}), z({5, 4, 2}));
    CHECK(counter.multiply_adds() == 2 * 3 * 4 * 5 + 10 * 3 * 4 * 2);
    matmul(z({4}), z({4}));
    CHECK(counter.multiply_adds() == 2 * 3 * 4 * 5 + 10 * 3 * 4 * 2 + 4);
}
