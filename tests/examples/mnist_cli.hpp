// Running the built mnist program from a test, and a tiny synthetic data set
// in the MNIST file layout for it to train on in milliseconds.
#pragma once

#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include <tapegrad/data/idx.hpp>
#include "../common/shell.hpp"
#include "../nn/files.hpp"  // TempDir, read_bytes, write_bytes

struct RunResult {
    int status = -1;  // the exit status, -1 if the program did not exit normally
    std::string out, err;

    // The last line of stdout, without its newline.
    std::string last_line() const {
        std::string text = out;
        while (!text.empty() && text.back() == '\n') text.pop_back();
        return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    }
};

// Runs the example whose path is in the environment variable `exe_variable`
// (set by tests/examples/meson.build) with `args`, in `dir`.
inline RunResult run_example(const char* exe_variable, const TempDir& dir, const std::vector<std::string>& args) {
    const char* exe = std::getenv(exe_variable);
    if (!exe) throw std::runtime_error(std::string(exe_variable) + " is not set; run this test through meson test");
    using tapegrad::testing::shell_quoted;
    std::string command = "cd " + shell_quoted(dir.file("")) + " && " + shell_quoted(exe);
    for (const std::string& arg : args) command += " " + shell_quoted(arg);
    command += " > " + shell_quoted(dir.file("stdout.txt")) + " 2> " + shell_quoted(dir.file("stderr.txt"));
    const int raw = std::system(command.c_str());
    RunResult result;
    if (raw != -1 && WIFEXITED(raw)) result.status = WEXITSTATUS(raw);
    result.out = read_bytes(dir.file("stdout.txt"));
    result.err = read_bytes(dir.file("stderr.txt"));
    return result;
}

// Runs $MNIST_EXE with `args`, in `dir`.
inline RunResult run_mnist(const TempDir& dir, const std::vector<std::string>& args) {
    return run_example("MNIST_EXE", dir, args);
}

// 4x4 images of three classes that a small network separates easily: class c
// lights up rows c and c+1 of the image, over uniform noise.
inline void write_synthetic_split(const std::string& dir, const std::string& prefix, std::size_t count,
                                  std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> noise(0, 60), bright(180, 255);
    tapegrad::IdxImages images{count, 4, 4, {}};
    std::vector<std::uint8_t> labels;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t label = i % 3;
        labels.push_back(static_cast<std::uint8_t>(label));
        for (std::size_t row = 0; row < 4; ++row)
            for (std::size_t col = 0; col < 4; ++col)
                images.pixels.push_back(
                    static_cast<std::uint8_t>(row == label || row == label + 1 ? bright(rng) : noise(rng)));
    }
    tapegrad::write_idx_images(dir + "/" + prefix + "-images-idx3-ubyte", images);
    tapegrad::write_idx_labels(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
}

// 200 training and 50 test images in `dir`.
inline void write_synthetic_dataset(const std::string& dir) {
    write_synthetic_split(dir, "train", 200, 1);
    write_synthetic_split(dir, "t10k", 50, 2);
}
