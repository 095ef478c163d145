// GradientReducer without MPI: a fake communicator of two identical
// processes (every sum doubles) that records when each sum starts.
#include <doctest/doctest.h>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/train/gradient_reducer.hpp>

using namespace tapegrad;
using train::GradientReducer;

namespace {

class TwinCommunicator final : public train::Communicator {
public:
    std::size_t rank() const override { return 0; }
    std::size_t size() const override { return 2; }
    void broadcast(void*, std::size_t) override {}
    void allreduce_sum(double* values, std::size_t count) override { double_all(values, count); }
    void start_allreduce_sum(float* values, std::size_t count) override { start(values, count); }
    void start_allreduce_sum(double* values, std::size_t count) override { start(values, count); }
    void wait_all() override {
        for (const auto& finish : pending) finish();
        pending.clear();
    }
    std::vector<std::size_t> started;  // the sizes of the sums, in the order they started
    std::size_t waits = 0;

private:
    template <class T>
    static void double_all(T* values, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) values[i] *= 2;
    }
    template <class T>
    void start(T* values, std::size_t count) {
        started.push_back(count);
        pending.push_back([=] { double_all(values, count); });
    }
    std::vector<std::function<void()>> pending;
};

std::vector<Tensor<double>> params_of_sizes(std::initializer_list<std::size_t> sizes) {
    std::vector<Tensor<double>> params;
    for (std::size_t n : sizes) params.push_back(Tensor<double>::full({n}, 1.0, true));
    return params;
}

}  // namespace

TEST_CASE("gradient reducer: buckets in reverse order, started in order whatever order gradients arrive") {
    TwinCommunicator comm;
    // 32-byte buckets (4 doubles): reversed, the sizes 2, 3, 1, 5, 1 fill
    // buckets [2], [3, 1], [5], [1].
    const auto params = params_of_sizes({1, 5, 1, 3, 2});
    GradientReducer<double> reducer(comm, params, 32);
    REQUIRE(reducer.bucket_count() == 4);
    reducer.begin_step();
    const auto grad = [&](std::size_t i) { return Tensor<double>::full({params[i].size()}, double(i + 1)); };
    reducer.ready(0, grad(0));  // the last bucket is complete, but waits for the others
    CHECK(comm.started.empty());
    reducer.ready(2, grad(2));
    reducer.ready(4, grad(4));  // bucket 0 starts; bucket 1 still misses parameter 3
    CHECK(comm.started == std::vector<std::size_t>{2});
    reducer.ready(3, grad(3));  // buckets 1 then... 2 misses parameter 1
    CHECK(comm.started == std::vector<std::size_t>{2, 4});
    reducer.ready(1, grad(1));  // 2 and the waiting 3
    CHECK(comm.started == std::vector<std::size_t>{2, 4, 5, 1});
    CHECK_THROWS_WITH_AS(reducer.ready(1, grad(1)), "GradientReducer: the gradient of parameter 1 arrived twice in one step",
                         Error);
    const std::vector<double> extras = reducer.finish({1.5, 3});
    CHECK(extras == std::vector<double>{3, 6});
    for (std::size_t i = 0; i < params.size(); ++i) {
        CAPTURE(i);
        CHECK(xt::all(xt::equal(params[i].grad().data(), 2.0 * double(i + 1))));
    }
}

TEST_CASE("gradient reducer: backward's hooks start every bucket before backward returns") {
    TwinCommunicator comm;
    auto model = nn::make_mlp<double>(nn::MLPOptions({3, 4, 4, 2}, "tanh").seed(1));
    const auto params = model->parameters();
    GradientReducer<double> reducer(comm, params, 16);  // about a bucket per parameter
    const auto x = Tensor<double>::normal({5, 3}, 0.0, 1.0, 2);
    const Labels y{0, 1, 1, 0, 1};
    // The gradients of one process, for comparison.
    const TensorList<double> local = grad(cross_entropy((*model)(x), y), params);

    reducer.begin_step();
    {
        const auto hook = reducer.hook();
        cross_entropy((*model)(x), y).backward();
    }
    CHECK(comm.started.size() == reducer.bucket_count());  // all started during backward
    reducer.finish();
    for (std::size_t i = 0; i < params.size(); ++i) {
        CAPTURE(i);
        // Doubling is exact: the same bits as twice the local gradient.
        CHECK(xt::all(xt::equal(params[i].grad().data(), 2.0 * local[i].data())));
    }
}

TEST_CASE("gradient reducer: without hooks it takes .grad, and zeros where there is none") {
    TwinCommunicator comm;
    auto params = params_of_sizes({2, 3});
    GradientReducer<double> reducer(comm, params);
    REQUIRE(reducer.bucket_count() == 1);
    params[0].set_grad(Tensor<double>::of({1.0, -2.0}));
    reducer.begin_step();
    reducer.finish();
    CHECK(xt::all(xt::equal(params[0].grad().data(), xt::xarray<double>{2.0, -4.0})));
    CHECK(xt::all(xt::equal(params[1].grad().data(), 0.0)));
}

TEST_CASE("gradient reducer: bad parameters and gradients are refused") {
    TwinCommunicator comm;
    CHECK_THROWS_WITH_AS(GradientReducer<double>(comm, {}), "GradientReducer: no parameters", Error);
    const auto p = params_of_sizes({2});
    CHECK_THROWS_WITH_AS(GradientReducer<double>(comm, {p[0], p[0]}), "GradientReducer: parameter 0 is listed twice",
                         Error);
    CHECK_THROWS_WITH_AS(GradientReducer<double>(comm, {Tensor<double>::zeros({2})}),
                         "GradientReducer: parameter 0 of shape (2,) does not require a gradient", Error);
    CHECK_THROWS_WITH_AS(GradientReducer<double>(comm, p, 0), "GradientReducer: bucket_bytes must be > 0", Error);
    GradientReducer<double> reducer(comm, p);
    reducer.begin_step();
    CHECK_THROWS_WITH_AS(reducer.ready(0, Tensor<double>::zeros({3})),
                         "GradientReducer: a gradient of shape (3,) for parameter 0 of shape (2,)", Error);
    CHECK_THROWS_WITH_AS(reducer.ready(1, Tensor<double>::zeros({2})),
                         "GradientReducer: the gradient of parameter 1 (there are 1)", Error);
}

TEST_CASE("gradient reducer: finish() or a gradient outside a step is refused, not left unsummed") {
    // Before the fix, finish() without begin_step() started no bucket (none
    // was ever complete) and left each process with its own gradients.
    TwinCommunicator comm;
    auto params = params_of_sizes({2});
    GradientReducer<double> reducer(comm, params);
    params[0].set_grad(Tensor<double>::of({1.0, -2.0}));
    CHECK_THROWS_WITH_AS(reducer.finish(), "GradientReducer: finish() without begin_step()", Error);
    CHECK_THROWS_WITH_AS(reducer.ready(0, Tensor<double>::zeros({2})),
                         "GradientReducer: a gradient outside a step (call begin_step() first)", Error);
    CHECK(comm.started.empty());
    CHECK(xt::all(xt::equal(params[0].grad().data(), xt::xarray<double>{1.0, -2.0})));  // unchanged
    reducer.begin_step();
    reducer.finish();
    CHECK(xt::all(xt::equal(params[0].grad().data(), xt::xarray<double>{2.0, -4.0})));
    // A second finish() without a new step would hand the sums back unsummed too.
    CHECK_THROWS_WITH_AS(reducer.finish(), "GradientReducer: finish() without begin_step()", Error);
}
