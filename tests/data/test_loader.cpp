#include <doctest/doctest.h>

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <numeric>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/loader.hpp>
#include "helpers.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

// The dataset index of every sample served in `epoch`, batch by batch, after
// checking that each row's input and label are that sample's.
std::vector<std::vector<std::size_t>> epoch_batches(BatchLoader& loader, const Dataset& data, std::uint64_t epoch) {
    std::vector<std::vector<std::size_t>> batches;
    loader.start_epoch(epoch);
    Batch batch;
    while (loader.next(batch)) {
        const auto& x = batch.inputs.data();
        REQUIRE(x.dimension() == 2);
        REQUIRE(x.shape()[0] == batch.labels.size());
        REQUIRE(x.shape()[1] == data.features());
        std::vector<std::size_t> ids;
        for (std::size_t r = 0; r < batch.labels.size(); ++r) {
            const auto i = static_cast<std::size_t>(x(r, 0)) / data.features();
            REQUIRE(i < data.size());
            for (std::size_t j = 0; j < data.features(); ++j) CHECK(x(r, j) == data.inputs(i, j));
            CHECK(batch.labels[r] == data.labels[i]);
            ids.push_back(i);
        }
        batches.push_back(ids);
    }
    return batches;
}

std::vector<std::size_t> flatten(const std::vector<std::vector<std::size_t>>& batches) {
    std::vector<std::size_t> all;
    for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
    return all;
}

std::vector<std::size_t> iota_vector(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t(0));
    return v;
}

}  // namespace

TEST_CASE("loader: every sample exactly once per epoch, in batches of the asked size") {
    const Dataset data = indexed_dataset(23);
    BatchLoader loader(data, LoaderOptions(5).seed(42));
    CHECK(loader.batches_per_epoch() == 5);
    for (std::uint64_t epoch = 0; epoch < 4; ++epoch) {
        CAPTURE(epoch);
        const auto batches = epoch_batches(loader, data, epoch);
        REQUIRE(batches.size() == 5);
        for (std::size_t b = 0; b < 4; ++b) CHECK(batches[b].size() == 5);
        CHECK(batches[4].size() == 3);
        auto all = flatten(batches);
        CHECK(all == loader.order());
        std::sort(all.begin(), all.end());
        CHECK(all == iota_vector(23));
    }
}

TEST_CASE("loader: next_rows serves next()'s rows and labels without gathering, gather_inputs its inputs") {
    // 23 samples of shape (1, 3) in batches of 5, as shard 1 of 2: what a
    // trainer's shards gather themselves, in parts, must be next()'s batch.
    const Dataset data = with_sample_shape(indexed_dataset(23), {1, 3});
    const LoaderOptions options = LoaderOptions(5).seed(4).shard(1, 2);
    BatchLoader gathering(data, options), lazy(data, options);
    Batch whole, rows_only;
    std::size_t batches = 0;
    while (gathering.next(whole)) {
        REQUIRE(lazy.next_rows(rows_only));
        ++batches;
        CHECK(!rows_only.inputs.defined());
        CHECK(rows_only.rows == whole.rows);
        CHECK(rows_only.labels == whole.labels);
        REQUIRE(whole.rows.size() == whole.labels.size());
        for (std::size_t r = 0; r < whole.rows.size(); ++r) CHECK(whole.labels[r] == data.labels[whole.rows[r]]);
        // In two parts, as two shards would.
        const std::size_t half = whole.rows.size() / 2;
        const Tensor<float> top = gather_inputs(data, whole.rows.data(), half),
                            bottom = gather_inputs(data, whole.rows.data() + half, whole.rows.size() - half);
        CHECK(top.shape() == Shape{half, 1, 3});
        CHECK(Array<float>(xt::concatenate(xt::xtuple(top.data(), bottom.data()))) == whole.inputs.data());
    }
    CHECK(!lazy.next_rows(rows_only));
    CHECK(batches == 5);
}

TEST_CASE("loader: the order is a function of seed and epoch only") {
    const Dataset data = indexed_dataset(40);
    BatchLoader a(data, LoaderOptions(8).seed(7));
    std::vector<std::vector<std::size_t>> orders;
    for (std::uint64_t epoch = 0; epoch < 3; ++epoch) orders.push_back(flatten(epoch_batches(a, data, epoch)));
    CHECK(orders[0] != orders[1]);
    CHECK(orders[1] != orders[2]);
    CHECK(orders[0] != iota_vector(40));

    // A fresh loader, as in a resumed run, jumps straight to epoch 2.
    BatchLoader resumed(data, LoaderOptions(8).seed(7));
    CHECK(flatten(epoch_batches(resumed, data, 2)) == orders[2]);
    CHECK(flatten(epoch_batches(resumed, data, 0)) == orders[0]);

    BatchLoader other_seed(data, LoaderOptions(8).seed(8));
    CHECK(flatten(epoch_batches(other_seed, data, 0)) != orders[0]);
}

TEST_CASE("loader: drop_last skips only the short final batch") {
    const Dataset data = indexed_dataset(10);
    BatchLoader dropping(data, LoaderOptions(4).drop_last(true).seed(3));
    CHECK(dropping.batches_per_epoch() == 2);
    const auto batches = epoch_batches(dropping, data, 0);
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].size() == 4);
    CHECK(batches[1].size() == 4);
    // The 8 served are the first 8 of the epoch's order, each once.
    const auto& order = dropping.order();
    CHECK(flatten(batches) == std::vector<std::size_t>(order.begin(), order.begin() + 8));

    BatchLoader exact(data, LoaderOptions(5).drop_last(true).seed(3));
    CHECK(epoch_batches(exact, data, 0).size() == 2);  // nothing short to drop

    BatchLoader keeping(data, LoaderOptions(4).seed(3));
    CHECK(keeping.batches_per_epoch() == 3);
    CHECK(epoch_batches(keeping, data, 0).back().size() == 2);
}

TEST_CASE("loader: without shuffle every epoch is in data set order") {
    const Dataset data = indexed_dataset(9);
    BatchLoader loader(data, LoaderOptions(4).shuffle(false));
    CHECK(flatten(epoch_batches(loader, data, 0)) == iota_vector(9));
    CHECK(flatten(epoch_batches(loader, data, 5)) == iota_vector(9));
}

TEST_CASE("loader: a batch still held elsewhere is never overwritten") {
    const Dataset data = indexed_dataset(12);
    BatchLoader loader(data, LoaderOptions(4).shuffle(false));
    Batch batch;
    REQUIRE(loader.next(batch));
    const Tensor<float> kept = batch.inputs;  // e.g. saved by a graph
    const xt::xarray<float> first = kept.data();
    const float* first_buffer = kept.data().data();
    REQUIRE(loader.next(batch));
    CHECK(kept.data() == first);
    CHECK(batch.inputs.data()(0, 0) == data.inputs(4, 0));
    CHECK(batch.inputs.data().data() != first_buffer);

    // Nobody but `batch` holds the second one: the third reuses its memory.
    const float* second_buffer = batch.inputs.data().data();
    REQUIRE(loader.next(batch));
    CHECK(batch.inputs.data().data() == second_buffer);
    CHECK(batch.inputs.data()(0, 0) == data.inputs(8, 0));
    CHECK_FALSE(loader.next(batch));
}

TEST_CASE("loader: empty data set and bad options") {
    const Dataset empty = indexed_dataset(0);
    BatchLoader loader(empty, LoaderOptions(4).seed(1));
    Batch batch;
    CHECK_FALSE(loader.next(batch));
    CHECK(loader.batches_per_epoch() == 0);
    CHECK(error_of([&] { LoaderOptions(0); }) == "LoaderOptions: batch_size must be >= 1, got 0");
}

TEST_CASE("loader: without a seed a shuffling loader draws one from the global generator") {
    const Dataset data = indexed_dataset(40);
    manual_seed(5);
    BatchLoader a(data, LoaderOptions(8)), b(data, LoaderOptions(8));
    CHECK(a.order() != b.order());
    REQUIRE(a.options().seed().has_value());
    manual_seed(5);
    BatchLoader again(data, LoaderOptions(8));
    CHECK(again.order() == a.order());
    again.start_epoch(3);
    a.start_epoch(3);
    CHECK(again.order() == a.order());
    // Not shuffling, it needs no seed and draws none.
    BatchLoader ordered(data, LoaderOptions(8).shuffle(false));
    CHECK(!ordered.options().seed().has_value());
}

// The loader reuses its buffer when nothing else holds the last batch: what
// a caller did to that batch (made it a leaf that requires grad, ran a
// backward into it) must not show in the next one.
TEST_CASE("loader: every batch is a fresh leaf without grad, even when the buffer is reused") {
    const Dataset data = indexed_dataset(12);
    BatchLoader loader(data, LoaderOptions(4).shuffle(false));
    Batch batch;
    REQUIRE(loader.next(batch));
    const float* first_buffer = batch.inputs.data().data();
    batch.inputs.set_requires_grad(true);
    sum(batch.inputs * batch.inputs).backward();
    REQUIRE(batch.inputs.grad().defined());
    REQUIRE(loader.next(batch));
    CHECK(batch.inputs.data().data() == first_buffer);  // reused: the case this test is about
    CHECK_FALSE(batch.inputs.requires_grad());
    CHECK_FALSE(batch.inputs.grad().defined());
    for (std::size_t j = 0; j < data.features(); ++j) CHECK(batch.inputs.data()(0, j) == data.inputs(4, j));
}

TEST_CASE("loader: batches come in the data set's sample shape, each sample its row") {
    const Dataset data = with_sample_shape(indexed_dataset(7, 6), {1, 2, 3});
    BatchLoader loader(data, LoaderOptions(3).seed(2));
    Batch batch;
    std::size_t seen = 0;
    while (loader.next(batch)) {
        const std::size_t rows = batch.labels.size();
        REQUIRE(batch.inputs.shape() == Shape{rows, 1, 2, 3});
        const float* x = batch.inputs.data().data();
        for (std::size_t r = 0; r < rows; ++r) {
            const auto i = static_cast<std::size_t>(x[r * 6]) / 6;
            REQUIRE(i < data.size());
            for (std::size_t j = 0; j < 6; ++j) CHECK(x[r * 6 + j] == data.inputs(i, j));
            CHECK(batch.labels[r] == data.labels[i]);
        }
        seen += rows;
    }
    CHECK(seen == 7);

    Dataset misfit = indexed_dataset(4, 6);
    misfit.sample_shape = {4};  // set by hand, bypassing with_sample_shape
    CHECK(contains(error_of([&] { BatchLoader(misfit, LoaderOptions(2)); }), "samples of shape (4,) do not fit rows of 6"));
}

TEST_CASE("loader: the shards of every batch make up the unsharded batch, in order, some of them empty") {
    // 21 samples in batches of 5: the last batch has 1 row, so with 2 or more
    // shards some shards of it are empty, and still served.
    const Dataset data = indexed_dataset(21);
    BatchLoader whole(data, LoaderOptions(5).seed(3));
    for (std::size_t count = 1; count <= 6; ++count) {
        CAPTURE(count);
        for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
            const auto expected = epoch_batches(whole, data, epoch);
            std::vector<std::vector<std::size_t>> joined(expected.size());
            for (std::size_t index = 0; index < count; ++index) {
                BatchLoader shard(data, LoaderOptions(5).seed(3).shard(index, count));
                CHECK(shard.batches_per_epoch() == whole.batches_per_epoch());
                const auto batches = epoch_batches(shard, data, epoch);
                REQUIRE(batches.size() == expected.size());
                for (std::size_t b = 0; b < batches.size(); ++b) {
                    // Rows [ceil(index * n / count), ceil((index + 1) * n / count)):
                    // the larger shards first, so shard 0 is never empty.
                    const std::size_t n = expected[b].size();
                    const auto ceil_share = [&](std::size_t i) { return (i * n + count - 1) / count; };
                    CHECK(batches[b].size() == ceil_share(index + 1) - ceil_share(index));
                    CHECK(shard_rows(n, index, count) == std::pair{ceil_share(index), ceil_share(index + 1)});
                    if (index == 0) CHECK(!batches[b].empty());
                    joined[b].insert(joined[b].end(), batches[b].begin(), batches[b].end());
                }
            }
            CHECK(joined == expected);
        }
    }
    CHECK_THROWS_WITH_AS(LoaderOptions(5).shard(2, 2), "LoaderOptions: shard index must be below the shard count (2), got 2",
                         Error);
    CHECK_THROWS_WITH_AS(shard_rows(10, 3, 3), "shard_rows: shard 3 of 3 (the index must be below the count) of a batch of 10 rows",
                         Error);
    CHECK_THROWS_AS(shard_rows(10, 0, 0), Error);
    // rows * index past 2^64: still ceil(rows * i / count).
    const std::size_t huge = SIZE_MAX / 2;  // 2^63 - 1
    CHECK(shard_rows(huge, 1, 3) == std::pair<std::size_t, std::size_t>{huge / 3 + 1, 2 * (huge / 3) + 1});
    CHECK_THROWS_AS(LoaderOptions(5).shard(0, 0), Error);
}

TEST_CASE("loader: a batch says where its shard's rows stand in the whole batch and how many rows that has") {
    // 21 samples in batches of 5: whole batches of 5, 5, 5, 5 and 1 rows.
    const Dataset data = indexed_dataset(21);
    for (std::size_t count = 1; count <= 3; ++count) {
        for (std::size_t index = 0; index < count; ++index) {
            CAPTURE(count);
            CAPTURE(index);
            for (const bool gather : {true, false}) {
                BatchLoader shard(data, LoaderOptions(5).seed(3).shard(index, count));
                Batch batch;
                std::size_t seen = 0;
                while (gather ? shard.next(batch) : shard.next_rows(batch)) {
                    const std::size_t n = seen + 5 <= 21 ? 5 : 21 - seen;
                    CHECK(batch.global_rows == n);
                    // ceil(index * n / count), as the test above spells it out.
                    CHECK(batch.first_row == (index * n + count - 1) / count);
                    CHECK(batch.first_row + batch.rows.size() == ((index + 1) * n + count - 1) / count);
                    seen += n;
                }
                CHECK(seen == 21);
            }
        }
    }
}

TEST_CASE("loader: sequence targets (N, T) come gathered by the rows of their inputs, on every shard") {
    // Row i: inputs i * 3 + j, targets i * 100 + t (whole numbers, as token ids).
    Dataset data = indexed_dataset(23);
    data.labels.clear();
    data.targets = xt::xtensor<float, 2>::from_shape({23, 4});
    for (std::size_t i = 0; i < 23; ++i)
        for (std::size_t t = 0; t < 4; ++t) data.targets(i, t) = float(i * 100 + t);
    REQUIRE(data.has_targets());
    CHECK(data.size() == 23);
    for (std::size_t count : {1, 2, 3}) {
        for (std::size_t index = 0; index < count; ++index) {
            CAPTURE(count);
            CAPTURE(index);
            const LoaderOptions options = LoaderOptions(5).seed(4).shard(index, count);
            BatchLoader gathering(data, options), lazy(data, options);
            Batch batch, rows_only;
            std::size_t served = 0;
            for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
                gathering.start_epoch(epoch);
                lazy.start_epoch(epoch);
                while (gathering.next(batch)) {
                    REQUIRE(lazy.next_rows(rows_only));
                    CHECK(batch.labels.empty());
                    REQUIRE(batch.targets.defined());
                    REQUIRE(batch.targets.shape() == Shape{batch.rows.size(), 4});
                    CHECK(!batch.targets.requires_grad());
                    for (std::size_t r = 0; r < batch.rows.size(); ++r) {
                        const std::size_t i = batch.rows[r];
                        CHECK(std::size_t(batch.inputs.data()(r, 0)) == i * 3);  // the inputs' row ...
                        for (std::size_t t = 0; t < 4; ++t) CHECK(batch.targets.data()(r, t) == float(i * 100 + t));  // ... and its targets
                    }
                    CHECK(rows_only.rows == batch.rows);
                    CHECK(rows_only.targets.data() == batch.targets.data());
                    served += batch.rows.size();
                }
            }
            if (count == 1) CHECK(served == 46);
        }
    }
    // A batch's targets held elsewhere are never overwritten; otherwise the
    // tensor is reused.
    BatchLoader loader(data, LoaderOptions(5).shuffle(false));
    Batch batch;
    REQUIRE(loader.next(batch));
    const Tensor<float> kept = batch.targets;
    const Array<float> first = kept.data();
    REQUIRE(loader.next(batch));
    CHECK(kept.data() == first);
    CHECK(batch.targets.data()(0, 0) == 500.0f);
    const float* storage = batch.targets.data().data();
    REQUIRE(loader.next(batch));
    CHECK(batch.targets.data().data() == storage);
    CHECK(batch.targets.data()(0, 0) == 1000.0f);

    // subset and split_train_validation keep each row's targets with its inputs.
    const Dataset picked = subset(data, {7, 2, 7});
    CHECK(traced_indices(picked) == std::vector<std::size_t>{7, 2, 7});
    CHECK(picked.targets(1, 3) == 203.0f);
    CHECK(picked.labels.empty());
    const TrainValidation split = split_train_validation(data, 5, 1);
    for (const Dataset* part : {&split.train, &split.validation}) {
        const auto ids = traced_indices(*part);
        REQUIRE(part->targets.shape()[0] == ids.size());
        for (std::size_t r = 0; r < ids.size(); ++r) CHECK(part->targets(r, 0) == float(ids[r] * 100));
    }
    CHECK(subset(data, {}).has_targets());  // no rows, still targets of width 4

    // Targets of another row count, of no width, or with labels too.
    Dataset short_targets = data;
    short_targets.targets = xt::zeros<float>({std::size_t(22), std::size_t(4)});
    CHECK(error_of([&] { BatchLoader l(short_targets, LoaderOptions(5)); }) ==
          "BatchLoader: the data set has 23 input rows but targets of shape (22, 4) (inputs (23, 3))");
    CHECK(error_of([&] { subset(short_targets, {0}); }) ==
          "subset: the data set has 23 input rows but targets of shape (22, 4) (inputs (23, 3))");
    Dataset no_width = data;
    no_width.targets = xt::zeros<float>({std::size_t(23), std::size_t(0)});
    CHECK(error_of([&] { BatchLoader l(no_width, LoaderOptions(5)); }) ==
          "BatchLoader: targets of shape (23, 0) have no value per sample");
    Dataset both = data;
    both.labels.assign(23, 1);
    CHECK(contains(error_of([&] { BatchLoader l(both, LoaderOptions(5)); }), "both 23 labels and targets of shape (23, 4)"));
}
