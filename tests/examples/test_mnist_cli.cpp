// End to end: the built mnist program on a tiny synthetic data set, used the
// way a person would use it from the command line.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "../common/scratch_device.hpp"
#include "mnist_cli.hpp"
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/npz.hpp>

namespace {

// `defaults` (flag, value pairs) without the flags `extra` names, then `extra`.
std::vector<std::string> with_defaults(const std::vector<std::string>& defaults, const std::vector<std::string>& extra) {
    std::vector<std::string> args;
    for (std::size_t i = 0; i < defaults.size(); i += 2)
        if (std::find(extra.begin(), extra.end(), defaults[i]) == extra.end())
            args.insert(args.end(), {defaults[i], defaults[i + 1]});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// A small network on the 4x4 synthetic images; a few epochs take
// milliseconds. `extra` flags replace the defaults here of the same name.
std::vector<std::string> quick_run(const std::vector<std::string>& extra) {
    return with_defaults({"--data", "data", "--layers", "16,8,3", "--batch-size", "20", "--epochs", "4", "--lr", "0.5",
                          "--seed", "7"},
                         extra);
}

struct Fixture {
    TempDir dir;
    Fixture() {
        std::filesystem::create_directory(dir.file("data"));
        write_synthetic_dataset(dir.file("data"));
    }
};

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> cells;
        std::istringstream fields(line);
        for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
        rows.push_back(cells);
    }
    return rows;
}

double reported_accuracy(const RunResult& run) {
    std::smatch match;
    const std::string line = run.last_line();
    REQUIRE(std::regex_match(line, match, std::regex(R"(test accuracy: ([01]\.\d{4}))")));
    return std::stod(match[1]);
}

bool only_expected_files(const TempDir& dir, std::initializer_list<std::string> names) {
    for (const auto& entry : std::filesystem::directory_iterator(dir.file(""))) {
        const std::string name = entry.path().filename().string();
        if (std::find(names.begin(), names.end(), name) == names.end()) return false;
    }
    return true;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "mnist trains, prints one line per epoch and ends with the test accuracy") {
    const RunResult run = run_mnist(dir, quick_run({"--metrics", "m.csv", "--plot", "p.svg"}));
    INFO(run.err);
    REQUIRE(run.status == 0);
    CHECK(reported_accuracy(run) >= 0.9);  // three well-separated classes
    CHECK(std::count(run.out.begin(), run.out.end(), '\n') == 1 + 4 + 1);  // header, 4 epochs, accuracy

    const auto rows = csv_rows(read_bytes(dir.file("m.csv")));
    REQUIRE(rows.size() == 5);
    CHECK(read_bytes(dir.file("m.csv")).rfind(
              "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,seconds\n", 0) == 0);
    for (std::size_t epoch = 1; epoch <= 4; ++epoch) {
        REQUIRE(rows[epoch].size() == 6);
        CHECK(rows[epoch][0] == std::to_string(epoch));
        for (std::size_t column = 1; column < 6; ++column) CHECK(std::isfinite(std::stod(rows[epoch][column])));
        for (std::size_t column : {2, 4}) CHECK(std::stod(rows[epoch][column]) <= 1.0);
    }
    CHECK(std::stod(rows[4][3]) < std::stod(rows[1][3]));  // validation loss went down

    const std::string svg = read_bytes(dir.file("p.svg"));
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find("Loss") != std::string::npos);
    CHECK(svg.find("Accuracy") != std::string::npos);
    CHECK(std::count(svg.begin(), svg.end(), '\n') > 20);
}

TEST_CASE_FIXTURE(Fixture, "bad flags and bad data exit with status 2 and a message") {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {quick_run({"--no-such-flag"}), "--no-such-flag"},
        {quick_run({"--activation", "softplus"}), "softplus"},
        {quick_run({"--momentum", "1.5"}), "momentum"},
        {quick_run({"--layers", "17,8,3"}), "16 pixels"},
        {quick_run({"--layers", "16,8,2"}), "3 classes"},
        {quick_run({"--layers", "16"}), "--layers"},
        {quick_run({"--valid", "200"}), "--valid"},
        {quick_run({"--shift", "4"}), "--shift 4 must be below the side of the images"},
        {quick_run({"--data", "missing"}), "missing/train-images-idx3-ubyte"},
        {quick_run({"--load", "missing.npz"}), "missing.npz"},
        {quick_run({"--resume", "missing.npz"}), "missing.npz"},
        {quick_run({"--save", "no-such-dir/w.npz"}), "no-such-dir"},
    };
    for (const Case& c : cases) {
        const RunResult run = run_mnist(dir, c.args);
        INFO(c.args.back(), ": ", run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find(c.message) != std::string::npos);
        CHECK(run.out.find("test accuracy") == std::string::npos);
    }
}

TEST_CASE_FIXTURE(Fixture, "a corrupt data file is named, and nothing is written") {
    const std::string images = dir.file("data/train-images-idx3-ubyte");
    const std::string bytes = read_bytes(images);
    write_bytes(images, bytes.substr(0, bytes.size() - 7));  // truncated
    write_bytes(dir.file("old.csv"), "earlier results\n");

    const RunResult run = run_mnist(dir, quick_run({"--metrics", "old.csv", "--save", "w.npz", "--plot", "p.svg",
                                                    "--checkpoint", "c.npz"}));
    CHECK(run.status == 2);
    CHECK(run.err.find("train-images-idx3-ubyte") != std::string::npos);
    CHECK(read_bytes(dir.file("old.csv")) == "earlier results\n");
    CHECK(only_expected_files(dir, {"data", "old.csv", "stdout.txt", "stderr.txt"}));
}

TEST_CASE_FIXTURE(Fixture, "--save then --load reports the same test accuracy") {
    const RunResult trained = run_mnist(dir, quick_run({"--save", "w.npz"}));
    REQUIRE(trained.status == 0);
    const RunResult loaded = run_mnist(dir, {"--data", "data", "--layers", "16,8,3", "--load", "w.npz"});
    INFO(loaded.err);
    REQUIRE(loaded.status == 0);
    CHECK(loaded.out == trained.last_line() + "\n");

    const RunResult wrong_shape = run_mnist(dir, {"--data", "data", "--layers", "16,9,3", "--load", "w.npz"});
    CHECK(wrong_shape.status == 2);
    CHECK(wrong_shape.err.find("w.npz") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a run resumed from a checkpoint ends with the uninterrupted run's weights, bit for bit") {
    // Nesterov and L2 too, so that every part of the optimizer state matters;
    // at this rate the validation loss is best before the interruption (after
    // epoch 2) and rises after, so the early-stopping state carried by the
    // checkpoint decides the result.
    const std::vector<std::string> settings = {"--nesterov", "--l2", "0.001", "--early-stop", "3", "--lr", "5"};
    auto with = [&](std::vector<std::string> extra) {
        extra.insert(extra.begin(), settings.begin(), settings.end());
        return quick_run(extra);
    };
    const RunResult straight_run = run_mnist(dir, with({"--save", "straight.npz", "--metrics", "straight.csv"}));
    REQUIRE(straight_run.status == 0);
    const std::string kept = "kept the weights of epoch ";
    const std::size_t at = straight_run.err.find(kept);
    REQUIRE(at != std::string::npos);
    const std::string best_epoch = straight_run.err.substr(at + kept.size(), 1);
    REQUIRE_MESSAGE((best_epoch == "1" || best_epoch == "2"), "the scenario needs the best epoch before the interruption");

    const RunResult interrupted = run_mnist(dir, with({"--epochs", "2", "--checkpoint", "c.npz"}));
    REQUIRE(interrupted.status == 0);
    const RunResult resumed = run_mnist(dir, with({"--resume", "c.npz", "--save", "resumed.npz", "--metrics",
                                                   "resumed.csv"}));
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(resumed.out.find("epoch   1/4") == std::string::npos);  // epochs 1 and 2 were not trained again
    CHECK(resumed.err.find(kept + best_epoch + " ") != std::string::npos);

    const tapegrad::io::npz::Members straight = tapegrad::io::npz::read(dir.file("straight.npz"));
    const tapegrad::io::npz::Members continued = tapegrad::io::npz::read(dir.file("resumed.npz"));
    CHECK(straight.size() == 4);  // two Linear layers: weight and bias each
    CHECK(straight == continued);  // every parameter's .npy bytes identical

    // The history carried through the checkpoint: same losses, all four epochs.
    auto without_seconds = [](const std::string& csv) {
        auto rows = csv_rows(csv);
        for (auto& row : rows) row.pop_back();
        return rows;
    };
    CHECK(without_seconds(read_bytes(dir.file("resumed.csv"))) == without_seconds(read_bytes(dir.file("straight.csv"))));

    const RunResult other_settings = run_mnist(dir, quick_run({"--resume", "c.npz"}));
    CHECK(other_settings.status == 2);
    CHECK(other_settings.err.find("other training settings") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "--shift trains on moved images, reproducibly, and resumes bit for bit") {
    const RunResult plain = run_mnist(dir, quick_run({"--save", "plain.npz"}));
    const RunResult first = run_mnist(dir, quick_run({"--shift", "1", "--save", "first.npz"}));
    const RunResult again = run_mnist(dir, quick_run({"--shift", "1", "--save", "again.npz"}));
    REQUIRE(plain.status == 0);
    REQUIRE(first.status == 0);
    REQUIRE(again.status == 0);
    namespace npz = tapegrad::io::npz;
    CHECK(npz::read(dir.file("first.npz")) == npz::read(dir.file("again.npz")));
    CHECK(npz::read(dir.file("first.npz")) != npz::read(dir.file("plain.npz")));  // the shifts changed training

    REQUIRE(run_mnist(dir, quick_run({"--shift", "1", "--epochs", "2", "--checkpoint", "c.npz"})).status == 0);
    const RunResult resumed = run_mnist(dir, quick_run({"--shift", "1", "--resume", "c.npz", "--save", "resumed.npz"}));
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(npz::read(dir.file("resumed.npz")) == npz::read(dir.file("first.npz")));
    // The shift is a training setting: resuming without it is refused.
    const RunResult unshifted = run_mnist(dir, quick_run({"--resume", "c.npz"}));
    CHECK(unshifted.status == 2);
}

TEST_CASE_FIXTURE(Fixture, "--shards 2 trains reproducibly, resumes bit for bit, and is a training setting") {
    namespace npz = tapegrad::io::npz;
    // The quick run's batches are far below the default --min-shard-work:
    // with it they would run whole, as with --shards 1 (bit for bit).
    const RunResult small = run_mnist(dir, quick_run({"--shards", "2", "--save", "small.npz"}));
    REQUIRE(small.status == 0);
    const std::vector<std::string> split{"--shards", "2", "--min-shard-work", "0"};
    const auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
        args.insert(args.end(), more.begin(), more.end());
        return quick_run(args);
    };
    const RunResult first = run_mnist(dir, with(split, {"--save", "first.npz"}));
    const RunResult again = run_mnist(dir, with(split, {"--save", "again.npz"}));
    const RunResult one = run_mnist(dir, quick_run({"--shards", "1", "--save", "one.npz"}));
    REQUIRE(first.status == 0);
    REQUIRE(again.status == 0);
    REQUIRE(one.status == 0);
    CHECK(npz::read(dir.file("first.npz")) == npz::read(dir.file("again.npz")));
    CHECK(npz::read(dir.file("first.npz")) != npz::read(dir.file("one.npz")));  // other sums: other last bits
    CHECK(npz::read(dir.file("small.npz")) == npz::read(dir.file("one.npz")));

    REQUIRE(run_mnist(dir, with(split, {"--epochs", "2", "--checkpoint", "c.npz"})).status == 0);
    const RunResult resumed = run_mnist(dir, with(split, {"--resume", "c.npz", "--save", "resumed.npz"}));
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(npz::read(dir.file("resumed.npz")) == npz::read(dir.file("first.npz")));
    // Another count would not continue the same run: refused.
    const RunResult other_count = run_mnist(dir, quick_run({"--shards", "1", "--resume", "c.npz"}));
    CHECK(other_count.status == 2);
    CHECK(other_count.err.find("other training settings") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a non-finite loss stops training with status 3 and keeps finite weights") {
    const RunResult run = run_mnist(dir, quick_run({"--lr", "1e38", "--save", "w.npz", "--metrics", "m.csv"}));
    INFO(run.err);
    CHECK(run.status == 3);
    CHECK(run.err.find("non-finite at epoch 1, batch") != std::string::npos);
    for (const auto& [name, bytes] : tapegrad::io::npz::read(dir.file("w.npz"))) {
        const xt::xarray<float> values = tapegrad::io::npz::from_npy<float>(bytes, name);
        CHECK(std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }));
    }
    CHECK(csv_rows(read_bytes(dir.file("m.csv"))).size() == 1);  // the header: no epoch finished
}

TEST_CASE_FIXTURE(Fixture, "crafted checkpoint values exit 2 naming the file and the entry") {
    namespace npz = tapegrad::io::npz;
    REQUIRE(run_mnist(dir, quick_run({"--epochs", "2", "--checkpoint", "c.npz"})).status == 0);
    const npz::Members original = npz::read(dir.file("c.npz"));
    auto int64 = [](std::int64_t v) {
        xt::xarray<std::int64_t> a = xt::xarray<std::int64_t>::from_shape({});
        a() = v;
        return npz::to_npy(a);
    };
    auto float64 = [](double v) {
        xt::xarray<double> a = xt::xarray<double>::from_shape({});
        a() = v;
        return npz::to_npy(a);
    };
    struct Case {
        std::string entry, npy, message;
    };
    const std::vector<Case> cases = {
        {"meta/epoch", int64(-1), "meta/epoch"},
        {"meta/epoch", int64(1000000000000), "meta/epoch"},
        {"meta/scalar/early_stopping/best_epoch", float64(std::nan("")), "early_stopping/best_epoch"},
        {"meta/scalar/early_stopping/best_epoch", float64(1e300), "early_stopping/best_epoch"},
        {"meta/scalar/early_stopping/epochs_without_improvement", float64(-1), "epochs_without_improvement"},
        {"optim/scalar/lr", float64(0.25), "optim/scalar/lr"},  // the run says --lr 0.5
    };
    for (const Case& c : cases) {
        npz::Members crafted = original;
        crafted[c.entry] = c.npy;
        npz::write(dir.file("crafted.npz"), crafted);
        const RunResult run = run_mnist(dir, quick_run({"--resume", "crafted.npz", "--save", "w.npz"}));
        INFO(c.entry, ": ", run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find("crafted.npz") != std::string::npos);
        CHECK(run.err.find(c.message) != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir.file("w.npz")));
    }
}

TEST_CASE_FIXTURE(Fixture, "--resume refuses other data and other numbers, and accepts the default spelled out") {
    REQUIRE(run_mnist(dir, quick_run({"--epochs", "2", "--checkpoint", "c.npz"})).status == 0);
    // Other data of the same shape (as Fashion-MNIST is to MNIST).
    std::filesystem::create_directory(dir.file("other"));
    write_synthetic_split(dir.file("other"), "train", 200, 5);
    write_synthetic_split(dir.file("other"), "t10k", 50, 2);
    const RunResult other_data = run_mnist(dir, quick_run({"--resume", "c.npz", "--data", "other"}));
    INFO(other_data.err);
    CHECK(other_data.status == 2);
    CHECK(other_data.err.find("other training data") != std::string::npos);
    // A learning rate that differs in the 7th digit is another learning rate.
    const RunResult other_lr = run_mnist(dir, quick_run({"--resume", "c.npz", "--lr", "0.5000001"}));
    CHECK(other_lr.status == 2);
    CHECK(other_lr.err.find("other training settings") != std::string::npos);
    // 10% of 200 is what --valid defaults to: the same setting.
    const RunResult explicit_valid = run_mnist(dir, quick_run({"--resume", "c.npz", "--valid", "20"}));
    INFO(explicit_valid.err);
    CHECK(explicit_valid.status == 0);
    const RunResult other_valid = run_mnist(dir, quick_run({"--resume", "c.npz", "--valid", "21"}));
    CHECK(other_valid.status == 2);
}

TEST_CASE_FIXTURE(Fixture, "an empty test or training set exits 2 naming the file") {
    write_synthetic_split(dir.file("data"), "t10k", 0, 2);
    const RunResult empty_test = run_mnist(dir, quick_run({}));
    INFO(empty_test.err);
    CHECK(empty_test.status == 2);
    CHECK(empty_test.err.find("t10k-images-idx3-ubyte") != std::string::npos);
    CHECK(empty_test.out.find("test accuracy") == std::string::npos);

    write_synthetic_split(dir.file("data"), "t10k", 50, 2);
    write_synthetic_split(dir.file("data"), "train", 0, 1);
    const RunResult empty_train = run_mnist(dir, quick_run({}));
    CHECK(empty_train.status == 2);
    CHECK(empty_train.err.find("train-images-idx3-ubyte") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a diverging run exits 3 and writes no weights, though every loss is finite") {
    const RunResult run = run_mnist(dir, quick_run({"--lr", "50", "--save", "w.npz", "--metrics", "m.csv"}));
    INFO(run.err);
    CHECK(run.status == 3);
    CHECK(run.err.find("training diverged at epoch 1: validation loss") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("w.npz")));
    const auto rows = csv_rows(read_bytes(dir.file("m.csv")));
    REQUIRE(rows.size() == 2);  // the header and the diverged epoch
    CHECK(std::isfinite(std::stod(rows[1][3])));
}

TEST_CASE_FIXTURE(Fixture, "--plot after a non-finite loss writes no nan") {
    const RunResult run = run_mnist(dir, quick_run({"--lr", "1e38", "--plot", "p.svg"}));
    CHECK(run.status == 3);
    const std::string svg = read_bytes(dir.file("p.svg"));
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("nan") == std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "unsigned flags refuse negative numbers and empty list elements") {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"--layers", "16,-1,3"}, {"--layers", "16,,3"}, {"--layers", "16,8,"},
                                               {"--seed", "-1"}, {"--early-stop", "-1"}, {"--epochs", "-1"},
                                               {"--batch-size", "-1"}, {"--shift", "-1"}, {"--valid", "-1"},
                                               {"--shards", "-1"}, {"--shards", "0"}}) {
        const RunResult run = run_mnist(dir, quick_run(args));
        INFO(args[0], " ", args[1], ": ", run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find(args[0]) != std::string::npos);
        CHECK(run.out.find("epoch") == std::string::npos);
    }
}

TEST_CASE_FIXTURE(Fixture, "outputs are checked before training: one file each, not a directory") {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"--save", "x.npz", "--checkpoint", "x.npz"}, "also the --save file"},
        {{"--metrics", "m.csv", "--plot", "./data/../m.csv"}, "also the --metrics file"},
        {{"--metrics", "data"}, "is a directory"},
        {{"--plot", "data/"}, "is a directory"},
    };
    for (const Case& c : cases) {
        const RunResult run = run_mnist(dir, quick_run(c.args));
        INFO(c.args.back(), ": ", run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find(c.message) != std::string::npos);
        CHECK(run.out.find("epoch") == std::string::npos);  // refused before training
    }
    CHECK(only_expected_files(dir, {"data", "stdout.txt", "stderr.txt"}));
}

TEST_CASE_FIXTURE(Fixture, "output and data paths the system refuses exit 2 before training, never abort") {
    // Before: a std::filesystem_error thrown before main's try (SIGABRT, 134)
    // for output paths; exit 1 and a non-tapegrad error for --data.
    REQUIRE(::symlink("loop", dir.file("loop").c_str()) == 0);
    std::string long_path = "d";
    while (long_path.size() < 4200) long_path += "/d";
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {quick_run({"--save", "loop/w.npz"}), std::strerror(ELOOP)},
        {quick_run({"--metrics", long_path + "/m.csv"}), std::strerror(ENAMETOOLONG)},
        {quick_run({"--plot", "stdout.txt/p.svg"}), std::strerror(ENOTDIR)},
        {quick_run({"--checkpoint", "data"}), "is a directory"},
        {quick_run({"--data", "loop"}), std::strerror(ELOOP)},
        {quick_run({"--data", long_path}), std::strerror(ENAMETOOLONG)},
    };
    for (const Case& c : cases) {
        const RunResult run = run_mnist(dir, c.args);
        INFO(c.args.back().substr(0, 40), ": ", run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find(c.message) != std::string::npos);
        CHECK(run.out.find("training") == std::string::npos);
    }
}

TEST_CASE_FIXTURE(Fixture, "devices are written through and links followed, never replaced") {
    // Copies of /dev/null and /dev/full (mknod) in a directory of their own:
    // a regression replaces those, never the machine's.
    TempDir devices;
    const std::string null_device = tapegrad::testing::scratch_device(devices, "null");
    const std::string full_device = tapegrad::testing::scratch_device(devices, "full");
    // --metrics through a link, as /dev/stdout is one: the link stays, its file gets the CSV.
    write_bytes(dir.file("real.csv"), "old\n");
    REQUIRE(::symlink("real.csv", dir.file("m.csv").c_str()) == 0);
    const RunResult run = run_mnist(dir, quick_run({"--metrics", "m.csv", "--save", null_device}));
    INFO(run.err);
    CHECK(run.status == 0);
    CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(dir.file("m.csv"))));
    CHECK(read_bytes(dir.file("real.csv")).rfind("epoch,train_loss", 0) == 0);
    CHECK(std::filesystem::is_character_file(null_device));

    // A full disk is a failure (exit 1, named), not a success.
    const RunResult full = run_mnist(dir, quick_run({"--save", full_device}));
    CHECK(full.status == 1);
    CHECK(full.err.find(full_device) != std::string::npos);
    CHECK(full.err.find(std::strerror(ENOSPC)) != std::string::npos);
    CHECK(std::filesystem::is_character_file(full_device));
}

namespace {
// --model cnn on the 4x4 synthetic images (the convolutions keep 4x4, the two
// poolings leave 1x1x32 for the first Linear); Adam at 0.01 learns the three
// classes in a few epochs. `extra` flags replace these of the same name.
std::vector<std::string> quick_cnn_run(const std::vector<std::string>& extra) {
    return with_defaults({"--model", "cnn", "--data", "data", "--batch-size", "20", "--epochs", "4", "--lr", "0.01",
                          "--seed", "7"},
                         extra);
}
}  // namespace

TEST_CASE_FIXTURE(Fixture, "--model cnn trains, saves PyTorch's names and layouts, and loads them back") {
    const RunResult run = run_mnist(dir, quick_cnn_run({"--save", "cnn.npz", "--metrics", "m.csv", "--plot", "p.svg"}));
    INFO(run.err);
    REQUIRE(run.status == 0);
    CHECK(reported_accuracy(run) >= 0.9);
    CHECK(std::count(run.out.begin(), run.out.end(), '\n') == 1 + 4 + 1);
    CHECK(csv_rows(read_bytes(dir.file("m.csv"))).size() == 5);
    CHECK(read_bytes(dir.file("p.svg")).rfind("<svg", 0) == 0);

    namespace npz = tapegrad::io::npz;
    const npz::Members saved = npz::read(dir.file("cnn.npz"));
    // nn.Sequential(Conv2d(1, 16, 5, padding=2), ReLU, MaxPool2d(2), Conv2d(16, 32, 5, padding=2), ReLU,
    // MaxPool2d(2), Flatten, Linear(32 * 1 * 1, 100), ReLU, Dropout(0.25), Linear(100, 3)) for 4x4 images.
    const std::map<std::string, tapegrad::Shape> expected = {
        {"0.weight", {16, 1, 5, 5}}, {"0.bias", {16}},  {"3.weight", {32, 16, 5, 5}}, {"3.bias", {32}},
        {"7.weight", {100, 32}},     {"7.bias", {100}}, {"10.weight", {3, 100}},      {"10.bias", {3}}};
    CHECK(saved.size() == expected.size());
    for (const auto& [name, shape] : expected) {
        CAPTURE(name);
        REQUIRE(saved.count(name) == 1);
        const xt::xarray<float> values = npz::from_npy<float>(saved.at(name), name);
        CHECK(tapegrad::Shape(values.shape().begin(), values.shape().end()) == shape);
    }

    const RunResult loaded = run_mnist(dir, {"--data", "data", "--model", "cnn", "--load", "cnn.npz"});
    INFO(loaded.err);
    REQUIRE(loaded.status == 0);
    CHECK(loaded.out == run.last_line() + "\n");
    // The MLP's weights are not the CNN's: refused, naming the file.
    REQUIRE(run_mnist(dir, quick_run({"--save", "mlp.npz"})).status == 0);
    const RunResult wrong = run_mnist(dir, {"--data", "data", "--model", "cnn", "--load", "mlp.npz"});
    CHECK(wrong.status == 2);
    CHECK(wrong.err.find("mlp.npz") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "--model cnn with --shift resumes bit for bit (Adam's state, dropout and shifts)") {
    namespace npz = tapegrad::io::npz;
    const std::vector<std::string> settings = {"--shift", "1", "--early-stop", "3"};
    auto with = [&](std::vector<std::string> extra) {
        extra.insert(extra.begin(), settings.begin(), settings.end());
        return quick_cnn_run(extra);
    };
    const RunResult straight = run_mnist(dir, with({"--save", "straight.npz"}));
    REQUIRE(straight.status == 0);
    const RunResult again = run_mnist(dir, with({"--save", "again.npz"}));
    REQUIRE(again.status == 0);
    CHECK(npz::read(dir.file("again.npz")) == npz::read(dir.file("straight.npz")));  // seeded, dropout too

    REQUIRE(run_mnist(dir, with({"--epochs", "2", "--checkpoint", "c.npz"})).status == 0);
    const RunResult resumed = run_mnist(dir, with({"--resume", "c.npz", "--save", "resumed.npz"}));
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(resumed.out.find("epoch   1/4") == std::string::npos);
    CHECK(npz::read(dir.file("resumed.npz")) == npz::read(dir.file("straight.npz")));

    // The model and the optimizer are training settings (the MLP's weights
    // do not even fit the checkpoint's).
    const RunResult as_mlp = run_mnist(dir, quick_run({"--shift", "1", "--early-stop", "3", "--resume", "c.npz"}));
    CHECK(as_mlp.status == 2);
    CHECK(as_mlp.err.find("'c.npz': parameter '0.weight' has shape (16, 1, 5, 5)") != std::string::npos);
    const RunResult with_sgd = run_mnist(dir, with({"--optimizer", "sgd", "--resume", "c.npz"}));
    CHECK(with_sgd.status == 2);
    CHECK(with_sgd.err.find("'c.npz': optimizer state: unexpected buffer '0.exp_avg'") != std::string::npos);
    const RunResult other_batch = run_mnist(dir, with({"--batch-size", "30", "--resume", "c.npz"}));
    CHECK(other_batch.status == 2);
    CHECK(other_batch.err.find("other training settings") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "--model and --optimizer refuse flags that belong to the other choice") {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {quick_run({"--model", "rnn"}), "--model"},
        {quick_cnn_run({"--layers", "16,8,3"}), "--layers"},
        {quick_cnn_run({"--activation", "tanh"}), "--activation"},
        {quick_cnn_run({"--init", "xavier_uniform"}), "--init"},
        {quick_cnn_run({"--momentum", "0.5"}), "--momentum"},
        {quick_run({"--optimizer", "adam", "--nesterov"}), "--nesterov"},
        {quick_run({"--optimizer", "rmsprop"}), "--optimizer"},
        {quick_cnn_run({"--lr", "-1"}), "lr"},
    };
    for (const Case& c : cases) {
        const RunResult run = run_mnist(dir, c.args);
        INFO(c.args.back(), ": ", run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find(c.message) != std::string::npos);
        CHECK(run.out.find("epoch") == std::string::npos);
    }
    // The MLP with Adam: every other flag as before.
    const RunResult adam = run_mnist(dir, quick_run({"--optimizer", "adam", "--lr", "0.01"}));
    INFO(adam.err);
    CHECK(adam.status == 0);
    CHECK(reported_accuracy(adam) >= 0.9);
}

TEST_CASE_FIXTURE(Fixture, "--model cnn refuses images too small for its two poolings") {
    std::filesystem::create_directory(dir.file("tiny"));
    tapegrad::IdxImages images{30, 3, 3, std::vector<std::uint8_t>(30 * 9, 7)};
    tapegrad::write_idx_images(dir.file("tiny/train-images-idx3-ubyte"), images);
    tapegrad::write_idx_images(dir.file("tiny/t10k-images-idx3-ubyte"), images);
    tapegrad::write_idx_labels(dir.file("tiny/train-labels-idx1-ubyte"), std::vector<std::uint8_t>(30, 1));
    tapegrad::write_idx_labels(dir.file("tiny/t10k-labels-idx1-ubyte"), std::vector<std::uint8_t>(30, 1));
    const RunResult run = run_mnist(dir, quick_cnn_run({"--data", "tiny"}));
    CHECK(run.status == 2);
    CHECK(run.err.find("--model cnn needs square images of at least 4x4 pixels") != std::string::npos);
}
