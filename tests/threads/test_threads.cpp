// The thread contract (autograd/tape.hpp, docs/errors.md, "Threads"):
// separate graphs on separate threads are safe and give the same bits as on
// one thread, whatever the other threads do; backward passes on several
// threads may share leaves; and the Trainer's shards build on it. CI also runs this suite under ThreadSanitizer
// (.ci/run).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/backend/conv_onednn.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/thread_context.hpp>
#include <tapegrad/train/trainer.hpp>

using namespace tapegrad;

namespace {

// Runs each function on a thread of its own, then rethrows the first
// exception any of them threw.
void run_concurrently(const std::vector<std::function<void()>>& jobs) {
    std::vector<std::exception_ptr> errors(jobs.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < jobs.size(); ++i)
        threads.emplace_back([&, i] {
            try {
                jobs[i]();
            } catch (...) {
                errors[i] = std::current_exception();
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data().data(), b.data().data(), a.size() * sizeof(float)) == 0;
}

// The MNIST example's network, 784-100-100-10 with sigmoid, at batch 200: its
// first product (200 x 100 x 784) is one that OpenBLAS sums in other blocks
// on one thread than on several, the middle ones are small.
struct Model {
    std::vector<Tensor<float>> params;  // w1 b1 w2 b2 w3 b3

    explicit Model(std::uint64_t seed) {
        const std::vector<std::size_t> sizes = {784, 100, 100, 10};
        for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
            const float bound = 1.0f / float(sizes[l]);
            params.push_back(Tensor<float>::uniform({sizes[l + 1], sizes[l]}, -bound, bound, seed + 2 * l, true));
            params.push_back(Tensor<float>::uniform({sizes[l + 1]}, -bound, bound, seed + 2 * l + 1, true));
        }
    }
    Tensor<float> forward(const Tensor<float>& x) const {
        Tensor<float> h = x;
        for (std::size_t l = 0; l < params.size(); l += 2) {
            h = add(matmul(h, params[l], false, true), params[l + 1]);
            if (l + 2 < params.size()) h = sigmoid(h);
        }
        return h;
    }
};

struct BatchInputs {
    Tensor<float> x;
    Labels labels;
    explicit BatchInputs(std::uint64_t seed) : x(Tensor<float>::uniform({200, 784}, 0.0f, 1.0f, seed)) {
        for (std::int64_t i = 0; i < 200; ++i) labels.push_back((i * 7 + std::int64_t(seed)) % 10);
    }
};

// Plain SGD steps; returns the loss of each.
std::vector<float> train_steps(Model& model, const BatchInputs& batch, int steps) {
    std::vector<float> losses;
    for (int step = 0; step < steps; ++step) {
        for (auto& p : model.params) p.zero_grad();
        Tensor<float> loss = cross_entropy(model.forward(batch.x), batch.labels);
        loss.backward();
        losses.push_back(loss.item());
        NoGradGuard no_grad;
        for (auto& p : model.params) p.data_mut() -= 0.5f * p.grad().data();
    }
    return losses;
}

}  // namespace

TEST_CASE("two models trained at once on two threads match, bit for bit, the same trained one after the other") {
    // Before issue #11, every product under 4M multiply-adds set OpenBLAS's
    // process-wide thread count to one for its duration: a large product on
    // the other thread at that moment ran on one thread too, summed in other
    // blocks, and came out different in its last bits (1-3 rounds in 5, and
    // nearly every round with a third thread busy with small products).
    // Checked on the BLAS's own thread count and on one BLAS thread: then
    // the threads' calls run inside OpenBLAS at the same time.
    const int blas_before = blas_threads();
    for (const int blas_count : {blas_before, 1}) {
        CAPTURE(blas_count);
        if (blas_count > 0) set_blas_threads(blas_count);
        constexpr int steps = 6, rounds = 5;
        const BatchInputs batch_a(1), batch_b(2);
        Model reference_a(10), reference_b(20);
        const std::vector<float> losses_a = train_steps(reference_a, batch_a, steps);
        const std::vector<float> losses_b = train_steps(reference_b, batch_b, steps);
        for (int round = 0; round < rounds; ++round) {
            CAPTURE(round);
            Model a(10), b(20);
            std::vector<float> la, lb;
            // And a third thread busy with small products of its own meanwhile.
            std::atomic<int> training{2};
            run_concurrently({[&] { la = train_steps(a, batch_a, steps), --training; },
                              [&] { lb = train_steps(b, batch_b, steps), --training; },
                              [&] {
                                  const auto m = Tensor<float>::ones({100, 100});
                                  while (training > 0) matmul(m, m);
                              }});
            CHECK(la == losses_a);
            CHECK(lb == losses_b);
            for (std::size_t i = 0; i < a.params.size(); ++i) {
                CAPTURE(i);
                CHECK(same_bits(a.params[i], reference_a.params[i]));
                CHECK(same_bits(b.params[i], reference_b.params[i]));
            }
        }
    }
    if (blas_before > 0) set_blas_threads(blas_before);
}

TEST_CASE("a trainer on shards runs its threads without races and gives the same bits twice") {
    // The Trainer's side of the contract (TrainerOptions::shards): its worker
    // threads run the model's forward and grad() at once over shared
    // parameters, batch norm's running statistics updated by one of them.
    // Here for ThreadSanitizer (.ci/run), and the bits for good measure.
    const auto train_once = [] {
        using Ptr = nn::Module<float>::Ptr;
        auto net = std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
            std::make_shared<nn::Linear<float>>(nn::LinearOptions(20, 32).seed(1)),
            std::make_shared<nn::BatchNorm1d<float>>(32), std::make_shared<nn::ReLU<float>>(),
            std::make_shared<nn::Dropout<float>>(0.2), std::make_shared<nn::Linear<float>>(nn::LinearOptions(32, 3).seed(2))});
        Dataset data;
        data.inputs = Tensor<float>::uniform({240, 20}, -1.0f, 1.0f, 3).data();
        for (std::int64_t i = 0; i < 240; ++i) data.labels.push_back(i % 3);
        data.num_classes = 3;
        optim::SGD<float> sgd(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
        train::Trainer(*net, sgd, data, data, train::TrainerOptions().epochs(2).batch_size(40).shards(3).min_shard_work(0)).run();
        return net->state_dict();
    };
    CHECK(train_once() == train_once());
}

TEST_CASE("a sharded trainer beside another model training on another thread changes neither's bits") {
    // Issue #19: a Trainer with shards > 1 set the process-wide BLAS thread
    // count to 1 for each epoch, so a model trained on another thread at the
    // same time ran its products on one thread too and came out with other
    // bits (a plain loop beside a sharded Trainer: 4 rounds in 4). Nothing a
    // Trainer does may change what another thread computes.
    const int blas_before = blas_threads();
    if (blas_before > 0) set_blas_threads(2);  // a count at which 1 thread sums otherwise (see Model)
    const auto make_data = [] {
        Dataset data;
        data.inputs = Tensor<float>::uniform({400, 784}, 0.0f, 1.0f, 5).data();
        for (std::int64_t i = 0; i < 400; ++i) data.labels.push_back(i % 10);
        data.num_classes = 10;
        return data;
    };
    const Dataset data = make_data();
    const auto train_sharded = [&](std::size_t shards) {
        using Ptr = nn::Module<float>::Ptr;
        auto net = std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
            std::make_shared<nn::Linear<float>>(nn::LinearOptions(784, 100).seed(1)),
            std::make_shared<nn::Sigmoid<float>>(),
            std::make_shared<nn::Linear<float>>(nn::LinearOptions(100, 10).seed(2))});
        optim::SGD<float> sgd(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
        train::Trainer(*net, sgd, data, data, train::TrainerOptions().epochs(2).batch_size(200).shards(shards).min_shard_work(0)).run();
        return net->state_dict();
    };
    constexpr int steps = 8;
    const BatchInputs batch(3);
    Model reference(30);
    const std::vector<float> reference_losses = train_steps(reference, batch, steps);
    for (const std::size_t shards : {std::size_t(1), std::size_t(2)}) {
        CAPTURE(shards);
        const auto reference_trained = train_sharded(shards);
        for (int round = 0; round < 3; ++round) {
            CAPTURE(round);
            nn::StateDict<float> trained;
            // The plain loop trains again and again while the Trainer runs,
            // so that they overlap whatever the scheduler does.
            std::atomic<bool> trainer_done{false};
            int plain_runs = 0, plain_differing = 0;
            run_concurrently({[&] {
                                  trained = train_sharded(shards);
                                  trainer_done = true;
                              },
                              [&] {
                                  do {
                                      Model plain(30);
                                      bool same = train_steps(plain, batch, steps) == reference_losses;
                                      for (std::size_t i = 0; i < plain.params.size(); ++i)
                                          same = same && same_bits(plain.params[i], reference.params[i]);
                                      ++plain_runs;
                                      plain_differing += same ? 0 : 1;
                                  } while (!trainer_done);
                              }});
            CHECK(trained == reference_trained);
            CAPTURE(plain_runs);
            CHECK(plain_differing == 0);
        }
    }
    if (blas_before > 0) set_blas_threads(blas_before);
}

TEST_CASE("backward passes on several threads into the same leaves add up exactly") {
    // Small integers: every partial sum is exact in float, so the total does
    // not depend on the order in which the threads store their gradients.
    // Before issue #11 the passes kept their scratch in the leaves themselves
    // and added to .grad unguarded: a data race (found by ThreadSanitizer),
    // which here lost or misplaced gradients.
    auto w = Tensor<float>::full({4, 3}, 1.0f, true);
    auto v = Tensor<float>::full({3}, 2.0f, true);
    constexpr int threads = 4, passes = 1000, uses = 10;
    std::vector<std::function<void()>> jobs;
    for (int t = 0; t < threads; ++t)
        jobs.push_back([&, t] {
            const auto x = Tensor<float>::full({2, 4}, float(t + 1));  // this thread's own input
            for (int p = 0; p < passes; ++p) {
                // w and v several times in one graph: each pass must find them
                // once, with every contribution.
                Tensor<float> loss = sum(matmul(x, w));
                for (int u = 0; u < uses; ++u) loss = add(loss, sum(mul(w, v)));
                loss.backward();
            }
        });
    run_concurrently(jobs);
    // d/dw sum(x w) = x^T 1 = 2 (t + 1) everywhere; d/dw sum(w * v) = v = 2;
    // d/dv sum(w * v) = the column sums of w = 4.
    float expected_w = 0;
    for (int t = 0; t < threads; ++t) expected_w += float(passes) * (2.0f * float(t + 1) + 2.0f * uses);
    CHECK(xt::all(xt::equal(w.grad().data(), expected_w)));
    CHECK(xt::all(xt::equal(v.grad().data(), float(threads * passes * uses * 4))));
}

TEST_CASE("set_blas_threads chooses the thread count of every product, once") {
    const int before = blas_threads();
    if (before == 0) {
        MESSAGE("a BLAS without thread control: nothing to check");
        return;
    }
    CHECK_THROWS_WITH_AS(set_blas_threads(0), "set_blas_threads: the thread count must be at least 1, got 0", Error);
    CHECK(blas_threads() == before);
    set_blas_threads(1);
    CHECK(blas_threads() == 1);
    auto a = Tensor<float>::ones({300, 300});
    CHECK(sum(matmul(a, a)).item() == 300.0f * 300.0f * 300.0f);
    set_blas_threads(2);
    CHECK(blas_threads() == 2);
    CHECK(sum(matmul(a, a)).item() == 300.0f * 300.0f * 300.0f);
    set_blas_threads(before);
}

TEST_CASE("a thread with one-thread products runs one-thread convolutions too") {
    // The Trainer's shards used to get one-thread oneDNN convolutions from
    // the BLAS count they set to 1 process-wide; with OneThreadProductsGuard
    // the count stays, and N shards each started an N-thread OpenMP team
    // (with OMP_WAIT_POLICY set, as docs/performance.md recommends): oversubscribed
    // cores, and bits that depend on the thread count.
    const int before = blas_threads();
    if (detail::onednn_backend().empty() || !std::getenv("OMP_WAIT_POLICY") || before == 0) {
        MESSAGE("no oneDNN, no OMP_WAIT_POLICY or no BLAS thread control: nothing to check");
        return;
    }
    set_blas_threads(2);
    CHECK(detail::onednn_threads() == 2);
    {
        OneThreadProductsGuard one_thread;
        CHECK(detail::onednn_threads() == 1);
    }
    CHECK(detail::onednn_threads() == 2);
    set_blas_threads(before);
}

TEST_CASE("a ThreadContext carries every thread-local mode of the capturing thread to the thread that enters it") {
    // What a thread sees of its modes, and one draw from its seed source.
    struct Modes {
        bool grad = false, anomaly = false, frozen = false, one_thread = false, hook = false;
        std::uint64_t draw = 0;
    };
    const auto modes_here = [] {
        return Modes{grad_enabled(), anomaly_detection_enabled(), nn::running_stats_frozen(), one_thread_products(),
                     current_leaf_gradient_hook<float>() != nullptr, draw_seed()};
    };
    std::atomic<int> hook_calls{0};
    const Tensor<float> leaf = Tensor<float>::scalar(2.0f).set_requires_grad(true);
    // The modes every new thread starts in, and those the caller sets: each
    // one the opposite, so a mode not carried is seen.
    Modes fresh, entered, after;
    std::uint64_t caller_draw = 0;
    {
        const NoGradGuard no_grad;
        const DetectAnomalyGuard anomaly;
        const nn::FrozenRunningStatsGuard frozen;
        const OneThreadProductsGuard one_thread;
        const SeedScope draws(1234);
        const LeafGradientHookGuard<float> hook([&](const Tensor<float>&, const Tensor<float>&) { ++hook_calls; });
        const train::ThreadContext context;
        std::thread([&] {
            fresh = modes_here();
            {
                const train::ThreadContext::Entered in(context);
                entered = modes_here();
                // The caller's hook, called from a backward on this thread.
                const EnableGradGuard record;
                mul(leaf, leaf).backward();
            }
            after = modes_here();
        }).join();
        caller_draw = draw_seed();  // the caller's next draw, which the entered thread drew too
    }
    CHECK((fresh.grad && !fresh.anomaly && !fresh.frozen && !fresh.one_thread && !fresh.hook));
    CHECK((!entered.grad && entered.anomaly && entered.frozen && entered.one_thread && entered.hook));
    CHECK(entered.draw == caller_draw);
    CHECK(hook_calls == 1);
    // Leaving gives the thread its own modes back.
    CHECK((after.grad && !after.anomaly && !after.frozen && !after.one_thread && !after.hook));
    CHECK(after.draw != entered.draw);

    // Captured without any mode on: entering changes nothing of a fresh thread's.
    const train::ThreadContext plain;
    Modes plain_entered;
    std::thread([&] {
        const train::ThreadContext::Entered in(plain);
        plain_entered = modes_here();
    }).join();
    CHECK((plain_entered.grad && !plain_entered.anomaly && !plain_entered.frozen && !plain_entered.one_thread &&
           !plain_entered.hook));
}
