// Dropout, Flatten, BatchNorm1d/2d, LayerNorm as modules: options, modes,
// printouts, and their effect against the ops they wrap.
#include <doctest/doctest.h>

#include <sstream>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/sequential.hpp>
#include "../common/error_of.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using tapegrad::testing::error_of;

namespace {
template <class T>
std::string printed(const Module<T>& module) {
    std::ostringstream out;
    out << module;
    return out.str();
}
}  // namespace

TEST_CASE("Dropout: off in eval, a drawn seed per training forward, repeatable under a SeedScope") {
    Dropout<double> drop(DropoutOptions(0.25));
    CHECK(printed(drop) == "Dropout(p=0.25)");
    CHECK(drop.parameters().empty());
    const Tensor<double> x = Tensor<double>::ones({20, 30});
    Tensor<double> first, second, again;
    {
        SeedScope scope(3);
        first = drop(x);
        second = drop(x);
    }
    {
        SeedScope scope(3);
        again = drop(x);
    }
    CHECK(first.data() == again.data());  // the scope's first draw, both times
    CHECK(first.data() != second.data());  // each forward draws a new mask
    // The mask is the op's for the seed the module drew.
    {
        SeedScope scope(3);
        CHECK(first.data() == dropout(x, 0.25, true, draw_seed()).data());
    }
    // Kept values are scaled by 1 / (1 - p) = 4/3.
    for (double v : first.data()) CHECK((v == 0.0 || v == 4.0 / 3.0));

    drop.eval();
    manual_seed(9);
    const std::uint64_t next = draw_seed();
    manual_seed(9);
    CHECK(drop(x).same_as(x));
    CHECK(draw_seed() == next);  // evaluation draws nothing
    CHECK(Dropout<double>(0.0)(x).same_as(x));

    CHECK(error_of([] { DropoutOptions(1.5); }) == "DropoutOptions: p must be in [0, 1], got 1.5");
    CHECK(Dropout<float>().options().p() == 0.5);
}

TEST_CASE("Flatten: merges start_dim..end_dim as torch.nn.Flatten, gradient passes back") {
    Flatten<double> flatten;
    CHECK(printed(flatten) == "Flatten(start_dim=1, end_dim=-1)");
    const Tensor<double> x = Tensor<double>::normal({2, 3, 4, 5}, 0, 1, 1, true);
    const Tensor<double> y = flatten(x);
    CHECK(y.shape() == Shape{2, 60});
    CHECK(std::equal(x.data().begin(), x.data().end(), y.data().begin()));  // row-major order kept
    sum(mul(y, y)).backward();
    CHECK(x.grad().data() == 2.0 * x.data());
    CHECK(Flatten<double>(FlattenOptions().start_dim(0))(x).shape() == Shape{120});
    CHECK(Flatten<double>(FlattenOptions().start_dim(1).end_dim(2))(x).shape() == Shape{2, 12, 5});
    CHECK(Flatten<double>(FlattenOptions().start_dim(-2))(x).shape() == Shape{2, 3, 20});
    const Tensor<double> flat = Tensor<double>::zeros({4, 7});
    CHECK(flatten(flat).same_as(flat));  // nothing to merge
    CHECK(Flatten<double>(FlattenOptions().start_dim(0))(Tensor<double>::scalar(2)).shape() == Shape{1});
    CHECK(flatten(Tensor<double>::zeros({0, 3, 2})).shape() == Shape{0, 6});
    CHECK(error_of([&] { flatten(Tensor<double>::zeros({5})); }) ==
          "Flatten(start_dim=1, end_dim=-1): axis 1 is out of range for shape (5,)");
    CHECK(error_of([&] { Flatten<double>(FlattenOptions().start_dim(2).end_dim(1))(x); }) ==
          "Flatten(start_dim=2, end_dim=1): start_dim comes after end_dim for input of shape (2, 3, 4, 5)");
}

TEST_CASE("train() and eval() switch Dropout inside a Sequential") {
    Sequential<float> net({std::make_shared<Linear<float>>(LinearOptions(4, 8).seed(1)),
                           std::make_shared<Dropout<float>>(0.5), std::make_shared<Flatten<float>>()});
    CHECK(printed(net) ==
          "Sequential(\n"
          "  (0): Linear(in_features=4, out_features=8, bias=true)\n"
          "  (1): Dropout(p=0.5)\n"
          "  (2): Flatten(start_dim=1, end_dim=-1)\n"
          ")");
    const Tensor<float> x = Tensor<float>::ones({3, 4});
    net.eval();
    const Tensor<float> a = net(x), b = net(x);
    CHECK(a.data() == b.data());
    CHECK(a.data() == net[0](x).data());
    net.train();
    CHECK(net(x).data() != a.data());
}
