#include <cmath>

#include <doctest/doctest.h>

#include <tapegrad/optim/adam.hpp>
#include "reference_problem.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;
using reference::check_trajectory;
using reference::initial_parameter;

// Expected values: /usr/bin/python3 tests/optim/reference_trajectories.py
// (numpy, written from torch.optim.Adam / AdamW's documented algorithms).
static const reference::Trajectory adam = {
    {0.40000000135881691, -1.4000000003198469, 1.9000000009278883, -0.15000000177936879},
    {0.3004576746969988, -1.3001917220741619, 1.8000949009817262, -0.058260326371536608},
    {0.20180474993956066, -1.2007122256346687, 1.7003375261043945, 0.010056935071285786},
    {0.10461796239500515, -1.1017041604738869, 1.6007688193388154, 0.042160603276184469},
    {0.0096704049774852391, -1.0033146957576418, 1.5014143867976357, 0.042239892696121356}};
// lr=0.1 betas=(0.8,0.99) weight_decay=0.1 (coupled) amsgrad
static const reference::Trajectory adam_amsgrad = {
    {0.40000000127237095, -1.4000000003052042, 1.9000000007826465, -0.1500000017035861},
    {0.30081836664492223, -1.3003507061424429, 1.8001989210244977, -0.059953580159148617},
    {0.20319578020781079, -1.2012985778029295, 1.7007136836988859, 0.0034949491937238675},
    {0.10807723604782189, -1.1030942658396401, 1.6016411988604526, 0.028693238063022118},
    {0.016660039125869039, -1.0059883685903797, 1.5030514929421681, 0.020756102731024684}};
// AdamW lr=0.1 weight_decay=0.01 (decoupled)
static const reference::Trajectory adamw = {
    {0.39950000135881691, -1.3985000003198469, 1.8980000009278883, -0.14975000177936881},
    {0.29956149500555379, -1.297296788664829, 1.7961989843488548, -0.057905988338063111},
    {0.20061865007249946, -1.1965295110694281, 1.6946503083065112, 0.010316936688121142},
    {0.10325107187468549, -1.096342693539752, 1.5933947014197913, 0.042200754683966481},
    {0.008235045737945576, -0.99688512531451778, 1.4924566825802594, 0.042070982519302309}};

TEST_CASE_TEMPLATE("Adam and AdamW follow PyTorch's trajectories", T, double, float) {
    const double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5;
    SUBCASE("Adam") {
        auto p = initial_parameter<T>();
        Adam<T> optimizer({p}, AdamOptions(0.1));
        check_trajectory(optimizer, p, adam, tolerance);
    }
    SUBCASE("Adam with coupled weight decay, other betas and amsgrad") {
        auto p = initial_parameter<T>();
        Adam<T> optimizer({p}, AdamOptions(0.1).betas({0.8, 0.99}).weight_decay(0.1).amsgrad(true));
        check_trajectory(optimizer, p, adam_amsgrad, tolerance);
    }
    SUBCASE("AdamW") {
        auto p = initial_parameter<T>();
        AdamW<T> optimizer({p}, AdamWOptions(0.1).weight_decay(0.01));
        check_trajectory(optimizer, p, adamw, tolerance);
    }
}

TEST_CASE("AdamW defaults to PyTorch's weight decay of 1e-2, Adam to none") {
    CHECK(AdamWOptions().weight_decay() == 0.01);
    CHECK(AdamOptions().weight_decay() == 0.0);
    CHECK(AdamOptions().lr() == 0.001);
}

TEST_CASE("Adam counts steps per parameter and skips parameters without a gradient") {
    auto used = Tensor<double>::of({1.0}, true);
    auto unused = Tensor<double>::of({2.0}, true);
    Adam<double> optimizer({used, unused});
    for (int i = 0; i < 3; ++i) {
        optimizer.zero_grad();
        sum(used * used).backward();
        optimizer.step();
    }
    const auto state = optimizer.state();
    CHECK(state.scalars.at("0.step") == 3);
    CHECK(state.scalars.count("1.step") == 0);
    CHECK(state.buffers.count("1.exp_avg") == 0);
    CHECK(unused.data()(0) == 2.0);
    // The first Adam step moves by lr in the gradient's sign, whatever its size.
    CHECK(used.data()(0) == doctest::Approx(1.0 - 3 * 0.001).epsilon(1e-4));
}

TEST_CASE("AdamOptions and AdamWOptions reject bad values, naming the option") {
    CHECK_THROWS_WITH_AS(AdamOptions(-1), "AdamOptions: lr must be finite and >= 0, got -1", Error);
    CHECK_THROWS_WITH_AS(AdamOptions().betas({1.0, 0.999}),
                         "AdamOptions: betas must be (beta1, beta2) with both in [0, 1), got (1, 0.999)", Error);
    CHECK_THROWS_WITH_AS(AdamOptions().betas({0.9, -0.1}), doctest::Contains("got (0.9, -0.1)"), Error);
    CHECK_THROWS_WITH_AS(AdamOptions().eps(-1), "AdamOptions: eps must be finite and >= 0, got -1", Error);
    CHECK_THROWS_WITH_AS(AdamWOptions().weight_decay(-1),
                         "AdamWOptions: weight_decay must be finite and >= 0, got -1", Error);
    CHECK_THROWS_WITH_AS(AdamWOptions(std::nan("")), doctest::Contains("AdamWOptions: lr"), Error);
    const auto options = AdamWOptions(0.01).betas({0.8, 0.9}).amsgrad(true);
    CHECK(options.betas() == AdamBetas{0.8, 0.9});
    CHECK(options.amsgrad());
}

TEST_CASE("Adam throws, changing nothing, when a parameter's values took another shape") {
    auto a = Tensor<double>::of({1.0, 2.0}, true);
    auto b = Tensor<double>::of({3.0, 4.0}, true);
    Adam<double> optimizer({a, b});
    a.set_grad(Tensor<double>::of({1.0, 1.0}));
    b.set_grad(Tensor<double>::of({1.0, 1.0}));
    optimizer.step();
    const auto before = optimizer.state();
    const xt::xarray<double> a_before = a.data();
    b.data_mut() = xt::xarray<double>{3.0, 4.0, 5.0};
    CHECK_THROWS_WITH_AS(optimizer.step(), doctest::Contains("Adam: parameter 1 has shape (3,)"), Error);
    CHECK(a.data() == a_before);
    CHECK(optimizer.state().buffers == before.buffers);
    CHECK(optimizer.state().scalars == before.scalars);
}

TEST_CASE("Adam's typed state: moments from the first step, AMSGrad's maximum only with amsgrad") {
    auto p = initial_parameter<double>();
    Adam<double> plain({p}, AdamOptions(0.1));
    CHECK_FALSE(plain.param_state(0).exp_avg);
    reference::compute_gradient(p);
    const xt::xarray<double> g = p.grad().data();
    plain.step();
    // From zero moments: m = (1 - beta1) * g, v = (1 - beta2) * g^2, in the
    // update's own order of operations, so equal to the last bit.
    REQUIRE(plain.param_state(0).exp_avg);
    REQUIRE(plain.param_state(0).exp_avg_sq);
    CHECK(*plain.param_state(0).exp_avg == xt::xarray<double>((1 - 0.9) * g));
    CHECK(*plain.param_state(0).exp_avg_sq == xt::xarray<double>((1 - 0.999) * g * g));
    CHECK_FALSE(plain.param_state(0).max_exp_avg_sq);
    CHECK(plain.param_state(0).step == 1);
    CHECK(plain.state().buffers.count("0.max_exp_avg_sq") == 0);

    // A state with AMSGrad's buffer does not load into Adam without amsgrad.
    auto q = initial_parameter<double>();
    Adam<double> amsgrad({q}, AdamOptions(0.1).amsgrad(true));
    reference::compute_gradient(q);
    amsgrad.step();
    REQUIRE(amsgrad.param_state(0).max_exp_avg_sq);
    const auto with_max = amsgrad.state();
    CHECK(with_max.buffers.count("0.max_exp_avg_sq") == 1);
    const auto before = plain.state();
    CHECK_THROWS_WITH_AS(plain.load_state(with_max), "optimizer state: unexpected buffer '0.max_exp_avg_sq'", Error);
    CHECK(plain.state().buffers == before.buffers);
    CHECK(plain.state().scalars == before.scalars);
}

TEST_CASE("Adam resumed from its state follows the same trajectory bit for bit") {
    auto p = initial_parameter<double>();
    const auto options = AdamOptions(0.1).betas({0.8, 0.99}).weight_decay(0.1).amsgrad(true);
    Adam<double> first({p}, options);
    check_trajectory(first, p, {adam_amsgrad[0], adam_amsgrad[1]}, 1e-12);
    auto q = Tensor<double>(xt::xarray<double>(p.data()), true);
    Adam<double> resumed({q}, options);
    resumed.load_state(first.state());
    for (int step = 0; step < 3; ++step)
        for (auto [optimizer, param] : {std::pair{&first, p}, std::pair{&resumed, q}}) {
            optimizer->zero_grad();
            reference::compute_gradient(param);
            optimizer->step();
        }
    CHECK(q.data() == p.data());
    CHECK(resumed.state().buffers == first.state().buffers);
    CHECK(resumed.param_state(0).step == 5);
    for (std::size_t i = 0; i < 4; ++i) CHECK(q.at({i}) == doctest::Approx(adam_amsgrad[4][i]).epsilon(1e-12));
}

TEST_CASE("Adam refuses a misshapen moment in a loaded state and changes nothing") {
    auto p = initial_parameter<double>();
    Adam<double> optimizer({p}, AdamOptions(0.1));
    reference::compute_gradient(p);
    optimizer.step();
    const xt::xarray<double> exp_avg_sq = *optimizer.param_state(0).exp_avg_sq;
    auto bad = optimizer.state();
    bad.scalars["0.step"] = 9;
    bad.buffers["0.exp_avg"] = xt::ones<double>({4});
    bad.buffers["0.exp_avg_sq"] = xt::ones<double>({4, 1});
    CHECK_THROWS_WITH_AS(optimizer.load_state(bad),
                         "optimizer state: buffer '0.exp_avg_sq' has shape (4, 1), parameter 0 has shape (4,)", Error);
    CHECK(*optimizer.param_state(0).exp_avg_sq == exp_avg_sq);
    CHECK(*optimizer.param_state(0).exp_avg != xt::xarray<double>(xt::ones<double>({4})));
    CHECK(optimizer.param_state(0).step == 1);
}
