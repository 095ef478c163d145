// Tape semantics: accumulation, diamonds, graph freeing, no_grad, deep chains,
// higher-order gradients, graph export.
#include <memory>
#include <thread>

#include <doctest/doctest.h>

#include <tapegrad/autograd/graphviz.hpp>
#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    sum(x * 3.0).backward();
    sum(x * 3.0).backward();
    CHECK(x.grad().at({1}) == 6.0);
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
    sum(x * x).backward();
    CHECK(x.grad().at({1}) == 4.0);
}

TEST_CASE("a tensor used twice (a diamond) receives the sum of both paths, once") {
    auto x = Tensor<double>::scalar(1.5, true);
    auto a = x * 2.0;                 // da/dx = 2
    auto d = add(a * 3.0, a * 4.0);   // dd/da = 7
    d.backward();
    CHECK(x.grad().item() == 14.0);
    // x * x: one op with the same tensor twice
    auto y = Tensor<double>::scalar(3.0, true);
    (y * y).backward();
    CHECK(y.grad().item() == 6.0);
}

TEST_CASE("stored leaf gradients never alias each other") {
    auto a = Tensor<double>::of({1.0}, true), b = Tensor<double>::of({2.0}, true);
    sum(add(a, b)).backward();  // add hands the same gradient to both inputs
    a.grad().at({0}) = 100.0;
    CHECK(b.grad().at({0}) == 1.0);
}

TEST_CASE("the graph is freed after backward; a second pass needs retain_graph") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    auto loss = sum(exp(x));
    loss.backward();
    CHECK_THROWS_WITH_AS(loss.backward(),
                         "backward: the graph behind 'sum' was freed by an earlier backward; pass retain_graph=true "
                         "to that backward to go through the graph twice",
                         Error);
    auto kept = sum(exp(x));
    x.zero_grad();
    kept.backward(/*retain_graph=*/true);
    kept.backward();
    CHECK(x.grad().at({0}) == doctest::Approx(2 * std::exp(1.0)));
}

TEST_CASE("backward needs a gradient for non-scalar outputs, of the right shape") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    auto y = x * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(),
                         "backward: output of shape (2,) is not a scalar; pass a gradient of that shape to backward()",
                         Error);
    CHECK_THROWS_AS(y.backward(Tensor<double>::ones({3})), Error);
    y.backward(Tensor<double>::of({1.0, 10.0}));
    CHECK(x.grad().at({1}) == 20.0);
    CHECK_THROWS_AS(Tensor<double>::of({1.0}).backward(), Error);  // nothing requires grad
}

TEST_CASE("no_grad records nothing, nests, and is per thread") {
    auto x = Tensor<double>::of({1.0}, true);
    {
        NoGradGuard outer;
        {
            NoGradGuard inner;
            CHECK_FALSE((x * 2.0).requires_grad());
        }
        CHECK_FALSE(grad_enabled());
        CHECK_FALSE((x * 2.0).requires_grad());
        bool other_thread_records = false;
        std::thread([&] { other_thread_records = (x * 2.0).requires_grad(); }).join();
        CHECK(other_thread_records);
    }
    CHECK(grad_enabled());
    CHECK((x * 2.0).requires_grad());
}

TEST_CASE("detach cuts the history") {
    auto x = Tensor<double>::scalar(2.0, true);
    auto y = x * x;
    auto z = y.detach() * x;  // dz/dx = y = 4, not 3x^2
    z.backward();
    CHECK(x.grad().item() == 4.0);
}

TEST_CASE("a chain of 100,000 ops backpropagates, and is freed, without deep recursion") {
    const std::size_t before = live_graph_nodes();
    auto x = Tensor<double>::scalar(1.0, true);
    {
        Tensor<double> y = x;
        for (int i = 0; i < 100000; ++i) y = y * 1.00001;
        CHECK(live_graph_nodes() == before + 100000);
        y.backward();
        CHECK(x.grad().item() == doctest::Approx(std::pow(1.00001, 100000)).epsilon(1e-9));
    }
    CHECK(live_graph_nodes() == before);
    {
        // Dropped without a backward: the destructor must not recurse either.
        Tensor<double> y = x;
        for (int i = 0; i < 100000; ++i) y = sigmoid(y);
    }
    CHECK(live_graph_nodes() == before);
}

TEST_CASE("a training loop does not grow the graph") {
    auto w = Tensor<double>::normal({4, 3}, 0, 1, 1, true);
    auto in = Tensor<double>::normal({8, 4}, 0, 1, 2);
    const std::size_t before = live_graph_nodes();
    for (int step = 0; step < 50; ++step) {
        auto loss = cross_entropy(matmul(in, w), Labels{0, 1, 2, 0, 1, 2, 0, 1});
        loss.backward();
        NoGradGuard no_grad;
        w.data_mut() -= 0.1 * w.grad().data();
        w.zero_grad();
    }
    CHECK(live_graph_nodes() == before);
}

TEST_CASE("create_graph: the gradient can be differentiated again") {
    auto x = Tensor<double>::of({1.0, -2.0}, true);
    sum(pow(x, 3.0)).backward(/*retain_graph=*/false, /*create_graph=*/true);
    Tensor<double> g = x.grad();  // 3x^2, with history
    CHECK(g.requires_grad());
    CHECK(g.at({1}) == 12.0);
    x.zero_grad();
    sum(g).backward();
    CHECK(x.grad().at({0}) == 6.0);    // 6x
    CHECK(x.grad().at({1}) == -12.0);
}

TEST_CASE("create_graph: a Hessian-vector product of a quadratic form is A v") {
    // f(x) = 1/2 x^T A x with symmetric A: grad = A x, Hessian = A.
    auto A = Tensor<double>::of({{2.0, 1.0, 0.0}, {1.0, 3.0, 1.0}, {0.0, 1.0, 4.0}});
    auto x = Tensor<double>::from_data({1.0, 2.0, 3.0}, {3, 1}, true);
    auto v = Tensor<double>::from_data({1.0, 0.0, -1.0}, {3, 1});
    auto f = mul(sum(mul(x, matmul(A, x))), 0.5);
    f.backward(false, true);
    Tensor<double> g = x.grad();
    x.zero_grad();
    sum(mul(g, v)).backward();
    CHECK(x.grad().at({0, 0}) == doctest::Approx(2.0));
    CHECK(x.grad().at({1, 0}) == doctest::Approx(0.0));
    CHECK(x.grad().at({2, 0}) == doctest::Approx(-4.0));
}

TEST_CASE("a gradient penalty trains through the gradient") {
    // penalty = sum((d/dx sum(w*x^2))^2) = sum((2wx)^2); d penalty/dw = 8 w x^2
    auto w = Tensor<double>::of({0.5, -1.0}, true);
    auto x = Tensor<double>::of({2.0, 3.0}, true);
    sum(mul(w, mul(x, x))).backward(false, true);
    Tensor<double> gx = x.grad();
    w.zero_grad();
    x.zero_grad();
    sum(mul(gx, gx)).backward();
    CHECK(w.grad().at({0}) == doctest::Approx(8 * 0.5 * 4));
    CHECK(w.grad().at({1}) == doctest::Approx(8 * -1.0 * 9));
}

TEST_CASE("without create_graph, gradients carry no history") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    sum(exp(x)).backward();
    CHECK(x.grad().is_leaf());
    CHECK_FALSE(x.grad().requires_grad());
}

TEST_CASE("to_dot writes every op with its shape") {
    auto x = Tensor<double>::zeros({4, 3}, true);
    auto w = Tensor<double>::zeros({3, 2}, true);
    auto loss = cross_entropy(matmul(x, w), Labels{0, 1, 0, 1});
    const std::string dot = to_dot(loss);
    CHECK(dot.rfind("digraph", 0) == 0);
    for (const char* expected : {"cross_entropy\\n()", "matmul\\n(4, 2)", "leaf (requires_grad)\\n(3, 2)"})
        CHECK_MESSAGE(dot.find(expected) != std::string::npos, expected);
    CHECK(dot.find("->") != std::string::npos);
}

TEST_CASE("anomaly mode names the first op whose output is NaN or Inf") {
    auto x = Tensor<double>::of({1.0, -1.0}, true);
    CHECK_NOTHROW(log(x));  // off by default: NaN passes silently
    DetectAnomalyGuard anomaly;
    CHECK(anomaly_detection_enabled());
    auto y = x * 2.0;
    CHECK_THROWS_WITH_AS(sqrt(y), "anomaly: 'sqrt' produced NaN or Inf in its output of shape (2,)", Error);
}

TEST_CASE("anomaly mode names the backward formula that made a NaN or Inf gradient") {
    // sqrt(0) = 0 is finite, but its derivative 1/(2 sqrt(0)) is not.
    auto x = Tensor<double>::of({0.0, 4.0}, true);
    auto loss = sum(sqrt(x));
    {
        DetectAnomalyGuard anomaly;
        try {
            loss.backward(/*retain_graph=*/true);
            FAIL("no exception");
        } catch (const Error& e) {
            const std::string msg = e.what();
            CHECK(msg.find("backward of 'sqrt'") != std::string::npos);
            CHECK(msg.find("NaN or Inf") != std::string::npos);
        }
    }
    CHECK_FALSE(anomaly_detection_enabled());
    x.zero_grad();
    CHECK_NOTHROW(loss.backward());  // off again: the Inf reaches the gradient
    CHECK(std::isinf(x.grad().at({0})));
}

TEST_CASE("a backward that throws changes no gradient and frees nothing") {
    // The graph is walked from the root in reverse topological order; the
    // branches of a and b come before the one that fails (sqrt at 0, whose
    // gradient is Inf). Before the fix, a and b had their gradients written
    // and the nodes already walked were freed when the error came.
    auto a = Tensor<double>::of({1.0, 2.0}, true);
    auto b = Tensor<double>::of({3.0}, true);
    auto z = Tensor<double>::of({0.0, 4.0}, true);
    sum(a * 5.0).backward();  // a gradient accumulated earlier must survive
    const Tensor<double> a_grad = a.grad();
    const xt::xarray<double> a_grad_values = a_grad.data();
    auto loss = add(sum(sqrt(z)), add(sum(a * 2.0), sum(b * 3.0)));
    const std::size_t nodes = live_graph_nodes();
    {
        DetectAnomalyGuard anomaly;
        try {
            loss.backward();
            FAIL("no exception");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("backward of 'sqrt'") != std::string::npos);
        }
    }
    CHECK(a.grad().same_as(a_grad));
    CHECK(a.grad().data() == a_grad_values);
    CHECK_FALSE(b.grad().defined());
    CHECK_FALSE(z.grad().defined());
    CHECK(live_graph_nodes() == nodes);
    // The graph is whole: the same pass runs, twice, once anomalies are allowed.
    loss.backward(/*retain_graph=*/true);
    CHECK(a.grad().at({0}) == 7.0);
    CHECK(b.grad().item() == 3.0);
    CHECK(std::isinf(z.grad().at({0})));
    CHECK(z.grad().at({1}) == 0.25);
    loss.backward();
    CHECK(a.grad().at({1}) == 9.0);
    CHECK(b.grad().item() == 6.0);
}

TEST_CASE("a user's backward that returns a wrong shape changes nothing either") {
    auto w = Tensor<double>::of({1.0, 2.0}, true);
    auto x = Tensor<double>::of({0.5, 0.5}, true);
    w.set_grad(Tensor<double>::of({10.0, 20.0}));
    const Tensor<double> w_grad = w.grad();
    // An op whose gradient formula is wrong: it returns shape (3,) for an input of shape (2,).
    auto bad = record<double>("bad_shape", Array<double>(x.data()), {x},
                              [](const Inputs<double>&, const Tensor<double>&, const Tensor<double>&) {
                                  return Gradients<double>{Tensor<double>::zeros({3})};
                              });
    auto loss = add(sum(bad), sum(w * 2.0));  // w's branch is walked first
    const std::size_t nodes = live_graph_nodes();
    for (bool retain : {false, true}) {
        CHECK_THROWS_WITH_AS(loss.backward(retain),
                             "backward of 'bad_shape': gradient of shape (3,) for input 0 of shape (2,)", Error);
        CHECK(w.grad().same_as(w_grad));
        CHECK(w.grad().at({0}) == 10.0);
        CHECK_FALSE(x.grad().defined());
        CHECK(live_graph_nodes() == nodes);
    }
}

TEST_CASE("a leaf gradient hook sees each leaf once, with its complete gradient, before .grad is written") {
    auto w1 = Tensor<double>::of({0.5, -1.0}, true), w2 = Tensor<double>::of({2.0, 3.0}, true);
    auto x = Tensor<double>::of({1.0, 2.0});  // no gradient: never hooked
    std::vector<std::string> seen;
    std::vector<Tensor<double>> grads;
    {
        LeafGradientHookGuard<double> guard([&](const Tensor<double>& leaf, const Tensor<double>& g) {
            CHECK_FALSE(leaf.grad().defined());  // backward stores every .grad at its end
            seen.push_back(leaf.same_as(w1) ? "w1" : leaf.same_as(w2) ? "w2" : "other");
            grads.push_back(g.detach());
        });
        // w1 is used twice (its gradient is the sum of both paths); w2 only
        // after both uses, so its gradient is complete first.
        auto h = add(tanh(x * w1), w1 * 2.0);
        sum(h * w2).backward();
    }
    REQUIRE(seen == std::vector<std::string>{"w2", "w1"});
    CHECK(xt::all(xt::equal(grads[0].data(), w2.grad().data())));
    CHECK(xt::all(xt::equal(grads[1].data(), w1.grad().data())));
    // The guard is gone: nothing is called any more.
    sum(w1 * w2).backward();
    CHECK(seen.size() == 2);
}

TEST_CASE("grad() calls no leaf gradient hook, and a hook that throws makes backward change nothing") {
    auto w = Tensor<double>::of({1.0, 2.0}, true);
    int calls = 0;
    LeafGradientHookGuard<double> guard([&](const Tensor<double>&, const Tensor<double>&) {
        if (++calls == 2) throw Error("hook failed");
    });
    grad(sum(w * w), {w});
    CHECK(calls == 0);
    sum(w * 3.0).backward();
    CHECK(calls == 1);
    auto loss = sum(w * w);
    CHECK_THROWS_WITH_AS(loss.backward(), "hook failed", Error);
    CHECK(w.grad().at({1}) == 3.0);  // the first backward's, unchanged
    loss.backward();                 // the graph was kept: it runs again
    CHECK(calls == 3);
    CHECK(w.grad().at({1}) == 7.0);
}

TEST_CASE("a backward or grad() started from a leaf gradient hook is refused, not run over the running pass") {
    // z and w share the interior node y = x * x. The hook runs when z's pass
    // reaches b, before y's gradient flows on to x; a pass over w started
    // there renumbered y, and z's pass then gave y's gradient to b (b.grad 7
    // instead of 4) and lost x's share of it (x.grad 20 instead of 32).
    auto x = Tensor<double>::full({1}, 2.0, true), b = Tensor<double>::full({1}, 1.0, true),
         a = Tensor<double>::full({1}, 1.0, true);
    auto y = x * x;
    auto z = sum(y * 3.0 + b * 4.0);
    auto w = sum(a * 2.0 + y * 5.0);
    for (const bool use_grad : {false, true}) {
        CAPTURE(use_grad);
        bool nested = false;
        LeafGradientHookGuard<double> guard([&](const Tensor<double>& leaf, const Tensor<double>&) {
            if (!leaf.same_as(b)) return;
            nested = true;
            if (use_grad)
                grad(w, {x}, {}, /*retain_graph=*/true);
            else
                w.backward(Tensor<double>(), /*retain_graph=*/true);
        });
        CHECK_THROWS_WITH_AS(z.backward(Tensor<double>(), /*retain_graph=*/true),
                             use_grad ? "grad: called from a leaf gradient hook (LeafGradientHookGuard); a pass "
                                        "cannot start while another one runs on the same thread"
                                      : "backward: called from a leaf gradient hook (LeafGradientHookGuard); a "
                                        "pass cannot start while another one runs on the same thread",
                             Error);
        CHECK(nested);
        CHECK_FALSE(x.grad().defined());  // the throwing pass changed nothing
        CHECK_FALSE(b.grad().defined());
    }
    // Outside a hook both passes run, and x gets both shares: 3 * 2x + 5 * 2x.
    z.backward(Tensor<double>(), true);
    w.backward();
    CHECK(x.grad().at({0}) == 32.0);
    CHECK(b.grad().at({0}) == 4.0);
}

namespace {
// x * 3 whose backward captures `token`, standing for the values an op saves
// for its backward (a mask, indices): the token's use count shows whether
// the graph still holds them.
Tensor<double> times_three_saving(const Tensor<double>& x, std::shared_ptr<int> token) {
    return record<double>("times_three", x.data() * 3.0, {x},
                          [token](const Inputs<double>&, const Tensor<double>&, const Tensor<double>& g) {
                              return Gradients<double>{mul(g, 3.0)};
                          });
}
}  // namespace

TEST_CASE("an op's saved values live in its node: freed by backward, kept by retain_graph, never made under no_grad") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    auto token = std::make_shared<int>(0);
    {
        NoGradGuard no_grad;
        const auto y = times_three_saving(x, token);
        CHECK(token.use_count() == 1);  // nothing recorded: the backward was dropped at once
    }
    auto loss = sum(times_three_saving(x, token));
    CHECK(token.use_count() == 2);
    loss.backward(/*retain_graph=*/true);
    CHECK(token.use_count() == 2);
    loss.backward();
    CHECK(token.use_count() == 1);  // freed with the graph's saved state, while `loss` still lives
    CHECK(x.grad().at({0}) == 6.0);
    CHECK_THROWS_AS(loss.backward(), Error);
}

TEST_CASE("live_graph_nodes counts nodes made on one thread and freed on another") {
    const std::size_t before = live_graph_nodes();
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    Tensor<double> y;
    std::thread maker([&] { y = exp(exp(x)); });
    maker.join();
    CHECK(live_graph_nodes() == before + 2);  // the thread ended; its nodes still count
    std::thread freer([&] { y = Tensor<double>(); });
    freer.join();
    CHECK(live_graph_nodes() == before);
}

namespace {
// Runs a backward pass when destroyed: as a thread_local made before the
// thread's first pass, it is destroyed after the engine's own thread_local
// scratch.
struct BackwardWhenDestroyed {
    double* result;
    ~BackwardWhenDestroyed() {
        auto x = Tensor<double>::of({1.0, 2.0}, true);
        sum(mul(x, x)).backward();
        *result = x.grad().at({1});
    }
};
}  // namespace

TEST_CASE("a backward pass runs, and nodes are counted, while a thread's thread_local objects are destroyed") {
    // Before the fix, the pass's scratch pool was a thread_local already
    // destroyed by then (a use after free), and a node freed then lost its
    // count for good (live_graph_nodes() over by 2 after the thread).
    const std::size_t before = live_graph_nodes();
    double result = 0;
    std::thread([&] {
        thread_local BackwardWhenDestroyed at_exit{&result};
        thread_local Tensor<double> kept;  // made before the thread's first node, destroyed after its counter
        auto x = Tensor<double>::of({1.0, 2.0}, true);
        kept = exp(exp(x));
        sum(mul(x, x)).backward();
    }).join();
    CHECK(result == 4.0);
    CHECK(live_graph_nodes() == before);
}

TEST_CASE("a node's backward called after backward freed it throws instead of running freed state") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    auto loss = sum(exp(x));
    loss.backward();
    CHECK_THROWS_WITH_AS(loss.impl()->grad_fn->backward(loss, Tensor<double>::ones({})),
                         "backward: the graph behind 'sum' was freed by an earlier backward; pass retain_graph=true "
                         "to that backward to go through the graph twice",
                         Error);
}
