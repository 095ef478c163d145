#include <doctest/doctest.h>

#include <tapegrad/optim/sgd.hpp>
#include "reference_problem.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;
using reference::check_trajectory;
using reference::initial_parameter;

// Expected values: /usr/bin/python3 tests/optim/reference_trajectories.py
// (numpy, written from torch.optim.SGD's documented algorithm).
static const reference::Trajectory plain = {
    {0.42640656801102217, -1.1873505352753446, 1.8922284092661519, -0.19380029697612755},
    {0.35862160441016094, -0.92807500484603733, 1.7880589355661591, -0.15492745276526942},
    {0.29630951010882461, -0.70973185346432288, 1.6870042268727041, -0.12797674504374451},
    {0.23916569882920946, -0.52387594024292095, 1.5885648059097983, -0.10925970421176556},
    {0.18690175814416171, -0.36527487961310173, 1.4922261937111314, -0.096244926625097801}};
// lr=0.1 momentum=0.9 dampening=0.5 weight_decay=0.01
static const reference::Trajectory damped = {
    {0.42590656801102217, -1.1858505352753446, 1.8902284092661519, -0.19355029697612758},
    {0.3251369878031255, -0.77300816065050526, 1.7384358265422177, -0.12325078845016077},
    {0.20450524828885003, -0.30348998818210404, 1.5510950385356452, -0.051281604801848055},
    {0.071219418186985933, 0.18154148669189907, 1.3338787661933336, 0.011234793997077344},
    {-0.067258582975403519, 0.6336962677408704, 1.0910182933462786, 0.055809978519308308}};
// lr=0.05 momentum=0.9 nesterov weight_decay=1e-4
static const reference::Trajectory nesterov = {
    {0.43008148961047105, -1.2029687585115774, 1.8975979888028442, -0.19660790712732118},
    {0.33559600368472753, -0.82758053600343617, 1.7548010386885837, -0.13609497483024413},
    {0.22379458993105983, -0.41449124435947093, 1.5780894469752909, -0.079379431883300766},
    {0.10198193366023142, 0.00085745461166225612, 1.3727714846171573, -0.034130425029095919},
    {-0.02262676300748058, 0.3770495535388152, 1.1423375676373229, -0.0044297608170854944}};

TEST_CASE_TEMPLATE("SGD follows PyTorch's trajectories", T, double, float) {
    const double tolerance = std::is_same_v<T, double> ? 1e-13 : 1e-5;
    SUBCASE("plain") {
        auto p = initial_parameter<T>();
        SGD<T> sgd({p}, SGDOptions(0.1));
        check_trajectory(sgd, p, plain, tolerance);
    }
    SUBCASE("momentum with dampening and weight decay: the first step is not dampened") {
        auto p = initial_parameter<T>();
        SGD<T> sgd({p}, SGDOptions(0.1).momentum(0.9).dampening(0.5).weight_decay(0.01));
        check_trajectory(sgd, p, damped, tolerance);
    }
    SUBCASE("nesterov") {
        auto p = initial_parameter<T>();
        SGD<T> sgd({p}, SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4));
        check_trajectory(sgd, p, nesterov, tolerance);
    }
}

TEST_CASE("SGD skips parameters without a gradient and keeps their momentum as it was") {
    auto used = Tensor<double>::of({1.0, 2.0}, true);
    auto unused = Tensor<double>::of({3.0, 4.0}, true);
    SGD<double> sgd({used, unused}, SGDOptions(0.5).momentum(0.5));
    sum(used * used).backward();  // gradient 2 * used = {2, 4}
    sgd.step();
    CHECK(used.data() == xt::xarray<double>{0.0, 0.0});
    CHECK(unused.data() == xt::xarray<double>{3.0, 4.0});
    CHECK(sgd.state().buffers.count("0.momentum_buffer") == 1);
    CHECK(sgd.state().buffers.count("1.momentum_buffer") == 0);
    // The same state, typed: the first step's buffer is the gradient itself.
    REQUIRE(sgd.param_state(0).momentum_buffer);
    CHECK(*sgd.param_state(0).momentum_buffer == xt::xarray<double>{2.0, 4.0});
    CHECK(sgd.param_state(0).step == 1);
    CHECK_FALSE(sgd.param_state(1).momentum_buffer);
    CHECK(sgd.param_state(1).step == 0);
    CHECK_THROWS_WITH_AS(sgd.param_state(2), "optimizer: no parameter 2, the optimizer has 2", Error);
}

TEST_CASE("SGD never writes into a gradient tensor, which may be shared") {
    auto a = Tensor<double>::of({1.0, 2.0}, true);
    auto b = Tensor<double>::of({10.0, 20.0}, true);
    auto shared = Tensor<double>::of({1.0, 1.0});
    a.set_grad(shared);
    b.set_grad(shared);
    SGD<double> sgd({a, b}, SGDOptions(0.1).momentum(0.9).weight_decay(0.5));
    sgd.step();
    sgd.step();
    CHECK(shared.data() == xt::xarray<double>{1.0, 1.0});
    // By hand for b(0) = 10: g = 1 + 0.5 * 10 = 6, buf = 6, p = 10 - 0.6 = 9.4; then
    // g = 1 + 0.5 * 9.4 = 5.7, buf = 0.9 * 6 + 5.7 = 11.1, p = 9.4 - 1.11 = 8.29.
    CHECK(b.data()(0) == doctest::Approx(8.29));
}

TEST_CASE("SGDOptions reject bad values, naming the option, the value and the range") {
    CHECK(SGDOptions(0).lr() == 0);  // as PyTorch
    CHECK_THROWS_WITH_AS(SGDOptions(-0.1), "SGDOptions: lr must be finite and >= 0, got -0.1", Error);
    CHECK_THROWS_WITH_AS(SGDOptions(0.1).momentum(1.0), "SGDOptions: momentum must be in [0, 1), got 1", Error);
    CHECK_THROWS_WITH_AS(SGDOptions(0.1).momentum(-0.1), doctest::Contains("momentum"), Error);
    CHECK_THROWS_WITH_AS(SGDOptions(0.1).dampening(1.5), "SGDOptions: dampening must be in [0, 1], got 1.5", Error);
    CHECK_THROWS_WITH_AS(SGDOptions(0.1).weight_decay(-1e-4),
                         "SGDOptions: weight_decay must be finite and >= 0, got -1e-04", Error);
    // Nesterov's rule ties two options together, so SGD checks it once all are set.
    auto p = Tensor<double>::zeros({2}, true);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, SGDOptions(0.1).nesterov(true)),
                         "SGDOptions: nesterov needs momentum > 0 and dampening = 0, got momentum 0, dampening 0",
                         Error);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)),
                         doctest::Contains("nesterov"), Error);
    CHECK_THROWS_AS(SGD<double>({}, SGDOptions(0.1)), Error);
    CHECK_NOTHROW(SGD<double>({p}, SGDOptions(0.1).momentum(0.9).dampening(1.0)));
    // A value too close to a bound to print rounded is shown as it is.
    CHECK_THROWS_WITH_AS(SGDOptions(0.1).dampening(1.0000000000000002), doctest::Contains("got 1.0000000000000002"),
                         Error);
}

TEST_CASE("SGD state round-trips and rejects state for other parameters") {
    auto p = initial_parameter<double>();
    SGD<double> sgd({p}, SGDOptions(0.1).momentum(0.9));
    reference::compute_gradient(p);
    sgd.step();
    const auto saved = sgd.state();
    CHECK(saved.scalars.at("lr") == 0.1);

    auto q = initial_parameter<double>();
    SGD<double> other({q}, SGDOptions(0.3).momentum(0.9));
    other.load_state(saved);
    CHECK(other.lr() == 0.1);
    CHECK(other.state().buffers == saved.buffers);

    auto bad = saved;
    bad.buffers["0.momentum_buffer"] = xt::zeros<double>({3});
    CHECK_THROWS_WITH_AS(other.load_state(bad), doctest::Contains("0.momentum_buffer"), Error);
    bad = saved;
    bad.buffers["1.momentum_buffer"] = xt::zeros<double>({4});
    CHECK_THROWS_AS(other.load_state(bad), Error);
    bad = saved;
    bad.buffers["0.exp_avg"] = xt::zeros<double>({4});
    CHECK_THROWS_AS(other.load_state(bad), Error);
    CHECK(other.state().buffers == saved.buffers);
}

TEST_CASE("SGD loads state into its typed buffers, and a misshapen one changes nothing") {
    auto p = initial_parameter<double>();
    SGD<double> sgd({p}, SGDOptions(0.1).momentum(0.9));
    OptimizerState<double> state;
    state.buffers["0.momentum_buffer"] = xt::xarray<double>{1.0, 2.0, 3.0, 4.0};
    state.scalars["0.step"] = 7;
    sgd.load_state(state);
    REQUIRE(sgd.param_state(0).momentum_buffer);
    CHECK(*sgd.param_state(0).momentum_buffer == state.buffers.at("0.momentum_buffer"));
    CHECK(sgd.param_state(0).step == 7);
    // The loaded buffer is the one the next step continues: buf = 0.9 * buf + g.
    reference::compute_gradient(p);
    const xt::xarray<double> g = p.grad().data();
    sgd.step();
    CHECK(*sgd.param_state(0).momentum_buffer == 0.9 * state.buffers.at("0.momentum_buffer") + g);
    CHECK(sgd.param_state(0).step == 8);

    // A buffer of the parameter's size but another shape, or a 0-d one, is
    // refused: the typed buffer would be broadcast against the parameter.
    const xt::xarray<double> kept = *sgd.param_state(0).momentum_buffer;
    for (xt::xarray<double> wrong : {xt::xarray<double>(xt::zeros<double>({2, 2})), xt::xarray<double>(1.0)}) {
        OptimizerState<double> bad;
        bad.buffers["0.momentum_buffer"] = wrong;
        CHECK_THROWS_WITH_AS(sgd.load_state(bad), doctest::Contains("parameter 0 has shape (4,)"), Error);
        CHECK(*sgd.param_state(0).momentum_buffer == kept);
        CHECK(sgd.param_state(0).step == 8);
    }
}
