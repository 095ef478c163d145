// examples/custom/residual_cnn end to end on the tiny synthetic images: it
// trains through the library's Trainer, reports its test accuracy, and saves
// batch norm's running statistics beside the weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include <tapegrad/io/npz.hpp>
#include "mnist_cli.hpp"

namespace {
RunResult run_residual_cnn(const TempDir& dir, const std::vector<std::string>& args) {
    return run_example("RESIDUAL_CNN_EXE", dir, args);
}
}  // namespace

TEST_CASE("residual_cnn learns the synthetic images and saves its batch-norm statistics") {
    TempDir dir;
    std::filesystem::create_directory(dir.file("data"));
    write_synthetic_dataset(dir.file("data"));
    const RunResult run = run_residual_cnn(dir, {"--data", "data", "--epochs", "6", "--width", "8", "--lr", "0.02", "--save", "w.npz"});
    INFO(run.err);
    REQUIRE(run.status == 0);
    CHECK(run.out.find("ResidualCNN(") != std::string::npos);
    CHECK(run.out.find("training 180 images of 4x4, validating on 20, testing on 50") != std::string::npos);
    std::smatch match;
    const std::string last = run.last_line();
    REQUIRE(std::regex_match(last, match, std::regex(R"(test accuracy: ([01]\.\d{4}))")));
    CHECK(std::stod(match[1]) >= 0.9);  // three well-separated classes

    namespace npz = tapegrad::io::npz;
    const npz::Members saved = npz::read(dir.file("w.npz"));
    for (const std::string name : {"stem_conv.weight", "block1.conv1.weight", "block2.bn2.bias", "head.weight"})
        CHECK_MESSAGE(saved.count(name) == 1, name);
    // Batch norm's buffers, moved by training away from their start (0 and 1).
    REQUIRE(saved.count("block1.bn1.running_mean") == 1);
    REQUIRE(saved.count("block1.bn1.running_var") == 1);
    CHECK(saved.count("block1.bn1.num_batches_tracked") == 1);
    const xt::xarray<float> mean = npz::from_npy<float>(saved.at("block1.bn1.running_mean"), "running_mean");
    CHECK(std::any_of(mean.begin(), mean.end(), [](float v) { return v != 0.0f; }));
}

TEST_CASE("residual_cnn exits 2 on missing data or a bad flag") {
    TempDir dir;
    const RunResult missing = run_residual_cnn(dir, {"--data", "nowhere"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("nowhere/train-images-idx3-ubyte") != std::string::npos);
    const RunResult negative = run_residual_cnn(dir, {"--epochs", "-1"});
    CHECK(negative.status == 2);
}
