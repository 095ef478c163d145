// The schedulers against the lr sequences torch.optim.lr_scheduler's step()
// produces (torch 1.13; the torch 2.x step() of these schedulers computes
// the same: its changes, _is_initial, _update_lr(0) in SequentialLR and a
// recursive undo, do not change these sequences). Each sequence is the lr
// after construction, then after each step(), from /usr/bin/python3 with:
//
//   def opt(lr=0.1, kind='sgd'):
//       p = [torch.zeros(1, requires_grad=True)]
//       return SGD(p, lr=lr, momentum=0.9) if kind == 'sgd' else Adam(p, lr=lr, betas=(0.9, 0.999))
//   def run(make, steps, kind='sgd', lr=0.1):
//       o = opt(lr, kind); s = make(o); lrs = [o.param_groups[0]['lr']]
//       for _ in range(steps): o.step(); s.step(); lrs.append(o.param_groups[0]['lr'])
//       return lrs   # and the momentum (SGD) or beta1 (Adam) alike, for OneCycleLR
//
// with the make() of each test case below.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "../common/error_of.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;
using testing::error_of;

namespace {
SGD<double> make_sgd(double lr = 0.1) {
    return SGD<double>({Tensor<double>::zeros({1}, true)}, SGDOptions(lr).momentum(0.9));
}

// The lr after construction and after each of `steps` steps (as run() above).
template <class Scheduler>
std::vector<double> lrs(Optimizer<double>& optimizer, Scheduler& scheduler, int steps) {
    std::vector<double> seen{optimizer.lr()};
    for (int i = 0; i < steps; ++i) {
        scheduler.step();
        seen.push_back(optimizer.lr());
    }
    return seen;
}

// The same formulas as PyTorch's, in the same order, on the same libm: equal
// up to the rounding of fused multiply-adds that -march=native lets the
// compiler form (an ulp a step, carried through a dozen recursive steps).
void check_sequence(const std::vector<double>& got, const std::vector<double>& torch) {
    REQUIRE(got.size() == torch.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(std::abs(got[i] - torch[i]) <= 1e-14 * std::max(1e-2, std::abs(torch[i])));
    }
}
}  // namespace

TEST_CASE("CosineAnnealingLR follows PyTorch's recursive form, past T_max too") {
    // make = lambda o: L.CosineAnnealingLR(o, T_max=5, eta_min=0.01); 12 steps
    auto sgd = make_sgd();
    CosineAnnealingLR<double> cosine(sgd, CosineAnnealingLROptions(5).eta_min(0.01));
    check_sequence(lrs(sgd, cosine, 12),
                   {0.1, 0.09140576474687263, 0.06890576474687263, 0.04109423525312736, 0.018594235253127367, 0.01,
                    0.018594235253127367, 0.04109423525312739, 0.06890576474687267, 0.09140576474687269,
                    0.10000000000000006, 0.09140576474687272, 0.06890576474687268});
    // make = lambda o: L.CosineAnnealingLR(o, T_max=4); 5 steps: the lr is 0 at T_max, as in PyTorch
    auto to_zero = make_sgd();
    CosineAnnealingLR<double> down(to_zero, CosineAnnealingLROptions(4));
    const std::vector<double> seen = lrs(to_zero, down, 5);
    check_sequence(seen, {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0, 0.014644660940672622});
    CHECK(seen[4] == 0.0);
}

TEST_CASE("LambdaLR is base_lr times the lambda of the epoch") {
    // make = lambda o: L.LambdaLR(o, lambda e: 0.5 ** e if e < 3 else 0.1 * e); 6 steps
    auto sgd = make_sgd();
    LambdaLR<double> lambda(sgd, [](std::int64_t e) { return e < 3 ? std::pow(0.5, double(e)) : 0.1 * double(e); });
    check_sequence(lrs(sgd, lambda, 6), {0.1, 0.05, 0.025, 0.030000000000000006, 0.04000000000000001, 0.05, 0.06000000000000001});
    CHECK(error_of([&] { LambdaLR<double>(sgd, nullptr); }) == "LambdaLR: lr_lambda is empty");
}

TEST_CASE("LinearLR warms up linearly and then holds") {
    // make = lambda o: L.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=4); 7 steps
    auto sgd = make_sgd();
    LinearLR<double> linear(sgd, LinearLROptions().start_factor(0.25).end_factor(0.75).total_iters(4));
    check_sequence(lrs(sgd, linear, 7), {0.025, 0.037500000000000006, 0.05, 0.0625, 0.075, 0.075, 0.075, 0.075});
    CHECK(error_of([] { LinearLROptions().start_factor(0); }) == "LinearLROptions: start_factor must be in (0, 1], got 0");
    CHECK(error_of([] { LinearLROptions().total_iters(0); }) == "LinearLROptions: total_iters must be > 0, got 0");
}

TEST_CASE("StepLR is an LRScheduler with PyTorch's sequence") {
    // make = lambda o: L.StepLR(o, step_size=2, gamma=0.5); 5 steps
    auto sgd = make_sgd();
    StepLR<double> step(sgd, StepLROptions(2).gamma(0.5));
    check_sequence(lrs(sgd, step, 5), {0.1, 0.1, 0.05, 0.05, 0.025, 0.025});
    CHECK(step.last_epoch() == 5);
}

TEST_CASE("OneCycleLR: two cosine phases with SGD's momentum, three linear ones with Adam's beta1") {
    // make = lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=10); 10 steps, SGD
    auto sgd = make_sgd();
    OneCycleLR<double> cycle(sgd, OneCycleLROptions(1.0, 10));
    std::vector<double> momenta{*sgd.momentum()};
    std::vector<double> seen{sgd.lr()};
    for (int i = 0; i < 10; ++i) {
        cycle.step();
        seen.push_back(sgd.lr());
        momenta.push_back(sgd.options().momentum());
    }
    check_sequence(seen, {0.040000000000000036, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893,
                          0.38874197806371075, 0.18825834605023697, 0.049519367986526286, 4e-06, 0.04951936798652623});
    check_sequence(momenta, {0.95, 0.8999999999999999, 0.85, 0.854951556604879, 0.8688255099070633, 0.8888739533021842,
                             0.9111260466978157, 0.9311744900929366, 0.945048443395121, 0.95, 0.945048443395121});
    CHECK(sgd.initial_lr() == 0.04);
    // A step past total_steps throws, as PyTorch's, and changes nothing.
    CHECK(error_of([&] { cycle.step(); }) == "OneCycleLR: tried to step 11 times, total_steps is 10");
    CHECK(cycle.last_epoch() == 10);

    // make = lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=12, pct_start=0.25, anneal_strategy='linear',
    //     three_phase=True, div_factor=10, final_div_factor=100, base_momentum=0.8, max_momentum=0.9); 12 steps, Adam
    Adam<double> adam({Tensor<double>::zeros({1}, true)}, AdamOptions(0.1));
    OneCycleLR<double> three(adam, OneCycleLROptions(0.5, 12)
                                       .pct_start(0.25)
                                       .anneal_strategy(OneCycleLROptions::Anneal::Linear)
                                       .three_phase(true)
                                       .div_factor(10)
                                       .final_div_factor(100)
                                       .base_momentum(0.8)
                                       .max_momentum(0.9));
    std::vector<double> lr3{adam.lr()}, beta1{adam.options().betas().first};
    for (int i = 0; i < 12; ++i) {
        three.step();
        lr3.push_back(adam.lr());
        beta1.push_back(adam.options().betas().first);
        CHECK(adam.options().betas().second == 0.999);
    }
    // PyTorch's last lr, one step past the end, is -0.006571428571428568: 0 here (set_lr refuses < 0).
    check_sequence(lr3, {0.05, 0.275, 0.5, 0.275, 0.04999999999999999, 0.042928571428571434, 0.03585714285714286,
                         0.02878571428571429, 0.021714285714285717, 0.014642857142857145, 0.007571428571428576,
                         0.0005000000000000004, 0.0});
    check_sequence(beta1, {0.9, 0.8500000000000001, 0.8, 0.8500000000000001, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9});
}

TEST_CASE("SequentialLR restarts each scheduler at its milestone, as PyTorch") {
    // a = L.LinearLR(o, start_factor=0.1, total_iters=3); b = L.CosineAnnealingLR(o, T_max=4, eta_min=0.001)
    // make = L.SequentialLR(o, [a, b], milestones=[3]); 9 steps
    auto sgd = make_sgd();
    auto warmup = std::make_shared<LinearLR<double>>(sgd, LinearLROptions().start_factor(0.1).total_iters(3));
    auto cosine = std::make_shared<CosineAnnealingLR<double>>(sgd, CosineAnnealingLROptions(4).eta_min(0.001));
    SequentialLR<double> sequential(sgd, {warmup, cosine}, {3});
    check_sequence(lrs(sgd, sequential, 9), {0.010000000000000002, 0.04, 0.07, 0.1, 0.0855017856687341, 0.0505,
                                             0.0154982143312659, 0.001, 0.015498214331265896, 0.05050000000000001});

    // a = L.StepLR(o, step_size=1, gamma=0.5); b = L.LinearLR(o, start_factor=0.5, total_iters=2)
    // c = L.LambdaLR(o, lambda e: 1.0 / (e + 1)); make = L.SequentialLR(o, [a, b, c], milestones=[2, 5]); 8 steps
    auto sgd3 = make_sgd();
    auto s0 = std::make_shared<StepLR<double>>(sgd3, StepLROptions(1).gamma(0.5));
    auto s1 = std::make_shared<LinearLR<double>>(sgd3, LinearLROptions().start_factor(0.5).total_iters(2));
    auto s2 = std::make_shared<LambdaLR<double>>(sgd3, [](std::int64_t e) { return 1.0 / double(e + 1); });
    SequentialLR<double> three(sgd3, {s0, s1, s2}, {2, 5});
    check_sequence(lrs(sgd3, three, 8), {0.1, 0.05, 0.05, 0.07500000000000001, 0.1, 0.1, 0.05, 0.03333333333333333, 0.025});
}

TEST_CASE("ChainedScheduler multiplies chainable schedules, as PyTorch") {
    // make = L.ChainedScheduler([L.LinearLR(o, start_factor=0.2, total_iters=3), L.CosineAnnealingLR(o, T_max=6, eta_min=0.0)]); 8 steps
    auto sgd = make_sgd();
    ChainedScheduler<double> chained({std::make_shared<LinearLR<double>>(sgd, LinearLROptions().start_factor(0.2).total_iters(3)),
                                      std::make_shared<CosineAnnealingLR<double>>(sgd, CosineAnnealingLROptions(6))});
    check_sequence(lrs(sgd, chained, 8), {0.020000000000000004, 0.04354059275497024, 0.055, 0.05, 0.025000000000000012,
                                          0.006698729810778065, 0.0, 0.006698729810778065, 0.025});
    // make = L.ChainedScheduler([L.StepLR(o, step_size=2, gamma=0.5), L.LinearLR(o, start_factor=0.5, total_iters=3)]); 6 steps
    auto sgd2 = make_sgd();
    ChainedScheduler<double> chained2({std::make_shared<StepLR<double>>(sgd2, StepLROptions(2).gamma(0.5)),
                                       std::make_shared<LinearLR<double>>(sgd2, LinearLROptions().start_factor(0.5).total_iters(3))});
    check_sequence(lrs(sgd2, chained2, 6), {0.05, 0.06666666666666667, 0.041666666666666664, 0.049999999999999996,
                                            0.024999999999999998, 0.024999999999999998, 0.012499999999999999});
}

TEST_CASE("composites refuse what PyTorch refuses") {
    auto sgd = make_sgd(), other = make_sgd();
    auto mine = std::make_shared<StepLR<double>>(sgd, StepLROptions(1));
    auto theirs = std::make_shared<StepLR<double>>(other, StepLROptions(1));
    CHECK(error_of([&] { ChainedScheduler<double>({}); }) == "ChainedScheduler: got no scheduler");
    CHECK(error_of([&] { ChainedScheduler<double>({mine, nullptr}); }) == "ChainedScheduler: scheduler 1 is null");
    CHECK(error_of([&] { ChainedScheduler<double>({mine, theirs}); }) ==
          "ChainedScheduler: scheduler 1 sets another optimizer's lr than the others");
    CHECK(error_of([&] { SequentialLR<double>(sgd, {mine, mine}, {}); }) == "SequentialLR: 2 schedulers need 1 milestones, got 0");
    CHECK(error_of([&] { SequentialLR<double>(sgd, {mine, mine, mine}, {3, 3}); }) ==
          "SequentialLR: milestones must be increasing epochs > 0, got {3, 3}");
    auto chain = std::make_shared<ChainedScheduler<double>>(std::vector<std::shared_ptr<LRScheduler<double>>>{mine});
    CHECK(error_of([&] { SequentialLR<double>(sgd, {mine, chain}, {2}); }) ==
          "SequentialLR: scheduler 1 is a ChainedScheduler or SequentialLR, which cannot restart at its milestone");
    CHECK(error_of([&] { SequentialLR<double>(other, {mine}, {}); }) ==
          "SequentialLR: scheduler 0 sets another optimizer's lr than the others");
}

TEST_CASE("schedulers resume from their state and the optimizer's, as an uninterrupted run") {
    // Each factory makes the schedule over an optimizer made with the run's options.
    using Make = std::function<std::shared_ptr<LRScheduler<double>>(Optimizer<double>&)>;
    const std::vector<std::pair<const char*, Make>> makes{
        {"cosine", [](Optimizer<double>& o) { return std::make_shared<CosineAnnealingLR<double>>(o, CosineAnnealingLROptions(7)); }},
        {"onecycle", [](Optimizer<double>& o) { return std::make_shared<OneCycleLR<double>>(o, OneCycleLROptions(1.0, 20)); }},
        {"sequential",
         [](Optimizer<double>& o) {
             auto a = std::make_shared<LinearLR<double>>(o, LinearLROptions().start_factor(0.1).total_iters(3));
             auto b = std::make_shared<CosineAnnealingLR<double>>(o, CosineAnnealingLROptions(10));
             return std::make_shared<SequentialLR<double>>(o, std::vector<std::shared_ptr<LRScheduler<double>>>{a, b},
                                                           std::vector<std::int64_t>{3});
         }},
    };
    for (const auto& [name, make] : makes) {
        CAPTURE(name);
        auto whole = make_sgd();
        auto schedule = make(whole);
        std::vector<double> expected = lrs(whole, *schedule, 12);
        auto first = make_sgd();
        auto first_schedule = make(first);
        lrs(first, *first_schedule, 5);
        // A new process: the same options, then the saved states.
        auto resumed = make_sgd();
        auto resumed_schedule = make(resumed);
        resumed.load_state(first.state());
        resumed_schedule->load_state(first_schedule->state());
        CHECK(resumed.options().momentum() == first.options().momentum());
        const std::vector<double> rest = lrs(resumed, *resumed_schedule, 7);
        CHECK(std::vector<double>(rest.begin(), rest.end()) == std::vector<double>(expected.begin() + 5, expected.end()));
    }
    // A composite's state refused part-way changes nothing.
    auto sgd = make_sgd();
    auto sequential = makes[2].second(sgd);
    sequential->step();
    const SchedulerState before = sequential->state();
    SchedulerState bad = before;
    bad["1.last_epoch"] = 0.5;
    CHECK_THROWS_AS(sequential->load_state(bad), Error);
    CHECK(sequential->state() == before);
}
