// Dropout, Flatten, BatchNorm1d/2d, LayerNorm as modules: options, modes,
// printouts, and their effect against the ops they wrap.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/serialize.hpp>
#include "../common/error_of.hpp"
#include "printed.hpp"
#include "files.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using tapegrad::testing::error_of;

namespace npz = tapegrad::io::npz;

namespace {
bool torch_available() { return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0; }

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

TEST_CASE("BatchNorm2d: PyTorch's parameters, buffers, names and printout") {
    BatchNorm2d<float> bn(BatchNormOptions(3));
    CHECK(printed(bn) == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
    std::vector<std::string> names;
    for (const auto& entry : bn.state_dict()) names.push_back(entry.first);
    CHECK(names == std::vector<std::string>{"bias", "num_batches_tracked", "running_mean", "running_var", "weight"});
    CHECK(bn.parameters().size() == 2);
    CHECK(bn.weight().data() == xt::ones<float>({3}));
    CHECK(bn.bias().data() == xt::zeros<float>({3}));
    CHECK(bn.running_mean().data() == xt::zeros<float>({3}));
    CHECK(bn.running_var().data() == xt::ones<float>({3}));
    CHECK(bn.num_batches_tracked().shape() == Shape{});
    CHECK(bn.integer_buffer_names() == std::set<std::string>{"num_batches_tracked"});

    BatchNorm1d<double> bare(BatchNormOptions(4).affine(false).track_running_stats(false).momentum(std::nullopt).eps(1e-3));
    CHECK(printed(bare) == "BatchNorm1d(4, eps=0.001, momentum=unset, affine=false, track_running_stats=false)");
    CHECK(bare.state_dict().empty());
    CHECK(error_of([] { BatchNormOptions(0); }) == "BatchNormOptions: num_features must be > 0, got 0");
    CHECK(error_of([] { BatchNormOptions(2).momentum(1.5); }) ==
          "BatchNormOptions: momentum must be in [0, 1] or unset, got 1.5");
    CHECK(error_of([] { BatchNormOptions(2).eps(-1); }) == "BatchNormOptions: eps must be finite and >= 0, got -1");
}

TEST_CASE("BatchNorm: training uses and tracks batch statistics, eval the running ones; as the op says") {
    BatchNorm1d<double> bn(BatchNormOptions(3).momentum(0.2));
    bn.weight().data_mut() = xt::xarray<double>{1.5, -1.0, 0.5};
    bn.bias().data_mut() = xt::xarray<double>{0.1, 0.2, 0.3};
    const Tensor<double> x = Tensor<double>::normal({5, 3, 4}, 1.0, 2.0, 1);
    // The op on copies of the buffers is the reference for the module.
    const Tensor<double> rm = Tensor<double>::zeros({3}), rv = Tensor<double>::ones({3});
    for (int step = 1; step <= 2; ++step) {
        const Tensor<double> expected = batch_norm(x, rm, rv, bn.weight(), bn.bias(), true, 0.2, 1e-5);
        CHECK(bn(x).data() == expected.data());
        CHECK(bn.running_mean().data() == rm.data());
        CHECK(bn.running_var().data() == rv.data());
        CHECK(bn.num_batches_tracked().item() == step);
    }
    bn.eval();
    CHECK(bn(x).data() == batch_norm(x, rm, rv, bn.weight(), bn.bias(), false, 0.2, 1e-5).data());
    CHECK(bn.num_batches_tracked().item() == 2);  // evaluation counts nothing
    CHECK(bn.running_mean().data() == rm.data());

    // momentum unset: the running mean is the plain average of the batch means.
    BatchNorm1d<double> average(BatchNormOptions(2).momentum(std::nullopt));
    const Tensor<double> a = Tensor<double>::of({{1.0, 10.0}, {3.0, 20.0}}), b = Tensor<double>::of({{5.0, 0.0}, {7.0, 0.0}});
    average(a);
    average(b);
    average(b);
    CHECK(average.running_mean().data()(0) == doctest::Approx((2.0 + 6.0 + 6.0) / 3).epsilon(1e-15));
    CHECK(average.running_mean().data()(1) == doctest::Approx(15.0 / 3).epsilon(1e-15));
    // Unbiased: each batch's variance over 2 values is (d^2 / 2) * 2 / (2 - 1) = d^2 / 1, d = half the gap.
    CHECK(average.running_var().data()(0) == doctest::Approx((2.0 + 2.0 + 2.0) / 3).epsilon(1e-15));

    // Without running statistics, evaluation normalises with the batch's.
    BatchNorm1d<double> untracked(BatchNormOptions(3).track_running_stats(false));
    untracked.eval();
    CHECK(untracked(x).data() == batch_norm(x, Tensor<double>(), Tensor<double>(), untracked.weight(), untracked.bias(), true).data());
}

TEST_CASE("BatchNorm: bad input names the layer and changes nothing") {
    BatchNorm2d<double> bn(BatchNormOptions(3));
    const StateDict<double> before = bn.state_dict();
    CHECK(error_of([&] { bn(Tensor<double>::zeros({2, 3, 4})); }) ==
          "BatchNorm2d(3): expects 4-D input with 3 channels (axis 1), got (2, 3, 4)");
    CHECK(error_of([&] { bn(Tensor<double>::zeros({2, 4, 1, 1})); }) ==
          "BatchNorm2d(3): expects 4-D input with 3 channels (axis 1), got (2, 4, 1, 1)");
    CHECK(error_of([&] { BatchNorm1d<double>(3)(Tensor<double>::zeros({3})); }) ==
          "BatchNorm1d(3): expects 2-D or 3-D input with 3 channels (axis 1), got (3,)");
    CHECK(error_of([&] { bn(Tensor<double>::zeros({1, 3, 1, 1})); }).find("more than 1 value per channel") !=
          std::string::npos);
    CHECK(bn.state_dict() == before);  // not counted, not updated
}

TEST_CASE("a BatchNorm model saved and loaded keeps its running statistics and count") {
    TempDir dir;
    const auto make = [] {
        return std::make_shared<Sequential<float>>(std::vector<Module<float>::Ptr>{
            std::make_shared<Linear<float>>(LinearOptions(4, 3).seed(1)), std::make_shared<BatchNorm1d<float>>(3)});
    };
    auto net = make();
    for (std::uint64_t step = 0; step < 3; ++step) net->forward(Tensor<float>::normal({8, 4}, 0, 1, step));
    save(*net, dir.file("bn.npz"));
    const npz::Members members = npz::read(dir.file("bn.npz"));
    CHECK(npz::from_npy<std::int64_t>(members.at("1.num_batches_tracked"), "count")() == 3);
    auto other = make();
    load(*other, dir.file("bn.npz"));
    CHECK(other->state_dict() == net->state_dict());
    other->eval();
    net->eval();
    const Tensor<float> x = Tensor<float>::normal({2, 4}, 0, 1, 9);
    CHECK(other->forward(x).data() == net->forward(x).data());
}

TEST_CASE("BatchNorm2d and BatchNorm1d match PyTorch in training and evaluation") {
    if (!torch_available()) {
        MESSAGE("skipped: /usr/bin/python3 with torch is not available");
        return;
    }
    TempDir dir;
    // Two training steps, then evaluation, in float64 on both sides; the
    // weight and bias are set to non-trivial values first.
    BatchNorm2d<double> bn2(BatchNormOptions(3).momentum(0.3));
    BatchNorm1d<double> bn1(BatchNormOptions(2).momentum(std::nullopt));
    bn2.weight().data_mut() = xt::xarray<double>{0.5, 2.0, -1.0};
    bn2.bias().data_mut() = xt::xarray<double>{0.0, 1.0, -2.0};
    const Tensor<double> x2 = Tensor<double>::normal({4, 3, 2, 5}, 2.0, 3.0, 1), x1 = Tensor<double>::normal({6, 2}, -1.0, 0.5, 2);
    npz::Members ours;
    for (int step = 0; step < 2; ++step) {
        ours["y2_train" + std::to_string(step)] = npz::to_npy(xt::xarray<double>(bn2(x2).data()));
        ours["y1_train" + std::to_string(step)] = npz::to_npy(xt::xarray<double>(bn1(x1).data()));
    }
    bn2.eval();
    bn1.eval();
    ours["y2_eval"] = npz::to_npy(xt::xarray<double>(bn2(x2).data()));
    ours["y1_eval"] = npz::to_npy(xt::xarray<double>(bn1(x1).data()));
    add_state(ours, "bn2/", bn2.state_dict(), bn2.integer_buffer_names());
    add_state(ours, "bn1/", bn1.state_dict(), bn1.integer_buffer_names());
    ours["x2"] = npz::to_npy(xt::xarray<double>(x2.data()));
    ours["x1"] = npz::to_npy(xt::xarray<double>(x1.data()));
    npz::write(dir.file("ours.npz"), ours);
    const std::string script =
        "import sys, numpy as np, torch\n"
        "z = np.load(sys.argv[1])\n"
        "t = lambda k: torch.from_numpy(z[k])\n"
        "bn2 = torch.nn.BatchNorm2d(3, momentum=0.3).double()\n"
        "bn1 = torch.nn.BatchNorm1d(2, momentum=None).double()\n"
        "with torch.no_grad():\n"
        "    bn2.weight.copy_(torch.tensor([0.5, 2.0, -1.0])); bn2.bias.copy_(torch.tensor([0.0, 1.0, -2.0]))\n"
        "    for step in range(2):\n"
        "        for bn, x, y in ((bn2, 'x2', 'y2'), (bn1, 'x1', 'y1')):\n"
        "            assert torch.allclose(bn(t(x)), t(y + '_train' + str(step)), rtol=0, atol=1e-12), (y, step)\n"
        "    bn2.eval(); bn1.eval()\n"
        "    assert torch.allclose(bn2(t('x2')), t('y2_eval'), rtol=0, atol=1e-12)\n"
        "    assert torch.allclose(bn1(t('x1')), t('y1_eval'), rtol=0, atol=1e-12)\n"
        "for name, bn in (('bn2/', bn2), ('bn1/', bn1)):\n"
        "    for k, v in bn.state_dict().items():\n"
        "        mine = z[name + k]\n"
        "        assert mine.dtype == v.numpy().dtype, (k, mine.dtype)\n"
        "        assert np.allclose(mine, v.numpy(), rtol=0, atol=1e-12), (name, k, mine, v)\n";
    std::ofstream(dir.file("check.py")) << script;
    // Tolerance 1e-12 on values of order 1-10 in float64: the two sum in
    // another order, ~1e-15 apart; a wrong formula is off by far more.
    CHECK(std::system(("/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("ours.npz")).c_str()) == 0);
}

TEST_CASE("LayerNorm: parameters, printout, the op's values, errors naming the layer") {
    LayerNorm<double> ln(LayerNormOptions({2, 3}).eps(1e-4));
    CHECK(printed(ln) == "LayerNorm((2, 3), eps=1e-04, elementwise_affine=true)");
    CHECK(ln.weight().data() == xt::ones<double>({2, 3}));
    CHECK(ln.bias().data() == xt::zeros<double>({2, 3}));
    ln.weight().data_mut()(1, 2) = 3.0;
    const Tensor<double> x = Tensor<double>::normal({4, 2, 3}, 0, 1, 1);
    CHECK(ln(x).data() == layer_norm(x, {2, 3}, ln.weight(), ln.bias(), 1e-4).data());
    ln.eval();
    CHECK(ln(x).data() == layer_norm(x, {2, 3}, ln.weight(), ln.bias(), 1e-4).data());
    LayerNorm<float> bare(LayerNormOptions({5}).elementwise_affine(false));
    CHECK(bare.parameters().empty());
    CHECK(printed(bare) == "LayerNorm((5,), eps=1e-05, elementwise_affine=false)");
    CHECK(error_of([&] { bare(Tensor<float>::zeros({5, 4})); }) ==
          "LayerNorm((5,), eps=1e-05, elementwise_affine=false): layer_norm: normalized_shape (5,) must be the last "
          "axes of the input, got input (5, 4)");
    CHECK(error_of([] { LayerNormOptions({}); }) == "LayerNormOptions: normalized_shape must be not empty, got {}");
}
