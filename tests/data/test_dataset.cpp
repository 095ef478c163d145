#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/idx.hpp>
#include "helpers.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

void write_split(const TempDir& dir, const std::string& prefix, std::size_t count, std::size_t label_count,
                 bool gzip) {
    IdxImages images{count, 28, 28, std::vector<std::uint8_t>(count * 784)};
    for (std::size_t i = 0; i < images.pixels.size(); ++i) images.pixels[i] = static_cast<std::uint8_t>(i % 256);
    std::vector<std::uint8_t> labels(label_count);
    for (std::size_t i = 0; i < label_count; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
    const std::string gz = gzip ? ".gz" : "";
    write_idx_images(dir.file(prefix + "-images-idx3-ubyte" + gz), images, gzip);
    write_idx_labels(dir.file(prefix + "-labels-idx1-ubyte" + gz), labels, gzip);
}



}  // namespace

TEST_CASE("dataset: load_mnist_dir reads raw and gzip splits, flattened and scaled to [0, 1]") {
    TempDir dir;
    write_split(dir, "train", 7, 7, false);
    write_split(dir, "t10k", 3, 3, true);
    const Dataset train = load_mnist_dir(dir.file(""), "train");
    const Dataset test = load_mnist_dir(dir.file(""), "test");
    CHECK(train.size() == 7);
    CHECK(test.size() == 3);
    CHECK(train.num_classes == 10);
    CHECK(train.inputs.shape()[0] == 7);
    CHECK(train.features() == 784);
    CHECK(train.inputs(0, 0) == 0.0f);
    CHECK(train.inputs(0, 255) == 1.0f);
    CHECK(train.inputs(1, 1) == doctest::Approx((784 + 1) % 256 / 255.0));
    CHECK(test.labels == Labels{0, 1, 2});
}

TEST_CASE("dataset: missing files are listed, mismatched counts named") {
    TempDir dir;
    write_split(dir, "train", 4, 5, false);
    const std::string missing = error_of([&] { load_mnist_dir(dir.file(""), "test"); });
    CHECK(contains(missing, dir.file("t10k-images-idx3-ubyte") + "[.gz]"));
    CHECK(contains(missing, dir.file("t10k-labels-idx1-ubyte") + "[.gz]"));

    const std::string mismatch = error_of([&] { load_mnist_dir(dir.file(""), "train"); });
    CHECK(contains(mismatch, "holds 4 images"));
    CHECK(contains(mismatch, "holds 5 labels"));
    CHECK(contains(mismatch, dir.file("train-labels-idx1-ubyte")));

    CHECK(contains(error_of([&] { load_mnist_dir(dir.file(""), "validation"); }), "neither"));
}

TEST_CASE("dataset: a label beyond the classes is rejected with its index") {
    TempDir dir;
    write_idx_images(dir.file("i"), {2, 1, 1, {0, 0}});
    write_idx_labels(dir.file("l"), {3, 10});
    CHECK(contains(error_of([&] { dataset_from_idx(dir.file("i"), dir.file("l"), 10); }),
                   "label 10 at index 1 is not a class of 10"));
}

TEST_CASE("dataset: the train/validation split is disjoint, complete and reproducible") {
    const Dataset all = indexed_dataset(50);
    const TrainValidation a = split_train_validation(all, 12, 7);
    REQUIRE(a.train.size() == 38);
    REQUIRE(a.validation.size() == 12);
    CHECK(a.validation.num_classes == 10);

    const auto train = traced_indices(a.train), validation = traced_indices(a.validation);
    std::set<std::size_t> seen(train.begin(), train.end());
    for (const std::size_t i : validation) CHECK(seen.insert(i).second);  // disjoint
    CHECK(seen.size() == 50);                                             // complete
    for (std::size_t r = 0; r < a.train.size(); ++r) CHECK(a.train.labels[r] == all.labels[train[r]]);

    const TrainValidation again = split_train_validation(all, 12, 7);
    CHECK(traced_indices(again.validation) == validation);
    CHECK(traced_indices(again.train) == train);
    CHECK(traced_indices(split_train_validation(all, 12, 8).validation) != validation);
    // Not just the first or last rows.
    CHECK(validation != std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(validation != std::vector<std::size_t>{38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49});

    CHECK(split_train_validation(all, 0, 1).train.size() == 50);
    CHECK(split_train_validation(all, 50, 1).validation.size() == 50);
    CHECK(contains(error_of([&] { split_train_validation(all, 51, 1); }), "exceeds the 50 samples"));
}

TEST_CASE("dataset: subset") {
    // (one_hot is autograd/ops.hpp's, tested with the ops.)
    const Dataset all = indexed_dataset(5);
    CHECK(traced_indices(subset(all, {4, 0, 4})) == std::vector<std::size_t>{4, 0, 4});
    CHECK(contains(error_of([&] { subset(all, {5}); }), "index 5 is out of range"));
}

TEST_CASE("dataset: paths the system refuses, or that are not files, are a tapegrad::Error saying why") {
    TempDir dir;
    // A directory where a file should be: named as a directory, not "not found".
    REQUIRE(::mkdir(dir.file("train-images-idx3-ubyte").c_str(), 0700) == 0);
    write_idx_labels(dir.file("train-labels-idx1-ubyte"), {1});
    CHECK(contains(error_of([&] { load_mnist_dir(dir.file(""), "train"); }), "is a directory, not a regular file"));
    // A loop of links as the directory (before: std::filesystem_error escaped).
    const std::string loop = dir.file("loop");
    REQUIRE(::symlink("loop", loop.c_str()) == 0);
    const std::string looped = error_of([&] { load_mnist_dir(loop, "train"); });
    CHECK(contains(looped, loop));
    CHECK(contains(looped, std::strerror(ELOOP)));
    // A file as the directory.
    write_idx_labels(dir.file("plain"), {1});
    CHECK(contains(error_of([&] { load_mnist_dir(dir.file("plain"), "test"); }), std::strerror(ENOTDIR)));
    // A path longer than the system allows.
    std::string long_dir = dir.file("");
    while (long_dir.size() < 4200) long_dir += "d/";
    CHECK(contains(error_of([&] { load_mnist_dir(long_dir, "test"); }), std::strerror(ENAMETOOLONG)));
    // A directory without search permission is not enforced for root: tested
    // only when the test runs as another user.
    if (::geteuid() != 0) {
        REQUIRE(::mkdir(dir.file("closed").c_str(), 0600) == 0);
        CHECK(contains(error_of([&] { load_mnist_dir(dir.file("closed"), "test"); }), std::strerror(EACCES)));
    }
}

TEST_CASE("dataset: with_sample_shape serves the same rows in a per-sample shape, checked against the features") {
    const Dataset flat = indexed_dataset(5, 12);
    CHECK(flat.sample_shape.empty());
    CHECK(flat.batch_shape(4) == Shape{4, 12});
    const Dataset images = with_sample_shape(flat, {3, 2, 2});
    CHECK(images.sample_shape == Shape{3, 2, 2});
    CHECK(images.batch_shape(4) == Shape{4, 3, 2, 2});
    CHECK(images.inputs == flat.inputs);  // the stored rows are the same
    CHECK(with_sample_shape(images, {}).batch_shape(1) == Shape{1, 12});  // flat again
    // subset and the split keep the shape.
    CHECK(subset(images, {4, 0}).sample_shape == Shape{3, 2, 2});
    CHECK(split_train_validation(images, 2, 1).validation.sample_shape == Shape{3, 2, 2});

    CHECK(error_of([&] { with_sample_shape(flat, {1, 3, 3}); }) ==
          "with_sample_shape: samples of shape (1, 3, 3) do not fit rows of 12 features (data set inputs (5, 12))");
    CHECK(contains(error_of([&] { with_sample_shape(flat, {12, 0}); }), "samples of shape (12, 0) do not fit"));
    // Extents whose product wraps around to 12 in 64 bits are still refused.
    const std::size_t half = std::size_t(1) << 63;
    CHECK(contains(error_of([&] { with_sample_shape(flat, {2, half, 12}); }), "do not fit rows of 12"));
    Dataset by_hand = flat;
    by_hand.sample_shape = {5};
    CHECK(contains(error_of([&] { by_hand.batch_shape(1); }), "Dataset::batch_shape: samples of shape (5,)"));
}
