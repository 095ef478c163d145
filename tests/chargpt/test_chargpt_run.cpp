// The chargpt program run as a user runs it: a short training that saves its
// weights, a --load of them that gives the same test loss, a mismatched
// --load refused with exit 2, and sampled words of a-z only. Needs Debian's
// word list; without it the cases warn and pass (CI installs it).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "../../examples/chargpt/words.hpp"
#include "../common/temp_dir.hpp"
#include "../examples_small/run.hpp"

using tapegrad::testing::shell_quoted;

namespace {

const std::string exe = shell_quoted(CHARGPT_EXE);

bool have_words() {
    if (std::filesystem::exists(chargpt::default_words_path)) return true;
    MESSAGE("skipped: ", chargpt::default_words_path, " is missing (", chargpt::words_setup_hint, ")");
    return false;
}

// The test loss of the last line, "test loss X nats per character"; NaN if the line is another.
double test_loss(const examples_small::Run& r) {
    double loss = std::nan("");
    if (std::sscanf(r.last().c_str(), "test loss %lf nats per character", &loss) != 1) return std::nan("");
    return loss;
}

}  // namespace

TEST_CASE("chargpt: trains, saves, and --load of its file gives the same test loss; samples are words") {
    if (!have_words()) return;
    tapegrad::testing::TempDir dir;
    for (const char* model : {"gpt", "gru"}) {
        INFO("model ", model);
        const std::string weights = dir.file(std::string(model) + ".npz");
        const auto trained = examples_small::run(exe + " --model " + model + " --steps 30 --seed 3 --save " +
                                                 shell_quoted(weights) + " 2>/dev/null");
        INFO(trained.output);
        REQUIRE(trained.status == 0);
        const double loss = test_loss(trained);
        // Uniform guessing over 27 tokens is ln 27 = 3.296 nats; 30 steps of
        // AdamW at lr 5e-4 learn the letter frequencies (measured 2.9 to 3.1).
        CHECK(loss < std::log(27.0));
        CHECK(loss > 1.5);  // the 5,000-step model's is about 2.0
        const auto loaded = examples_small::run(exe + " --model " + model + " --load " + shell_quoted(weights) +
                                                " --sample 5 2>/dev/null");
        INFO(loaded.output);
        REQUIRE(loaded.status == 0);
        CHECK(test_loss(loaded) == loss);  // the same weights, the same numbers
        const std::string samples = loaded.last(1);
        REQUIRE(samples.rfind("samples:", 0) == 0);
        for (char c : samples.substr(8)) CHECK(((c >= 'a' && c <= 'z') || c == ' '));
    }
}

TEST_CASE("chargpt: --load of another model's file is refused with exit 2, naming the file and a member") {
    if (!have_words()) return;
    tapegrad::testing::TempDir dir;
    const std::string weights = dir.file("gru.npz");
    REQUIRE(examples_small::run(exe + " --model gru --steps 1 --save " + shell_quoted(weights) + " 2>/dev/null").status == 0);
    const auto r = examples_small::run(exe + " --model gpt --load " + shell_quoted(weights));
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("chargpt: ") != std::string::npos);
    CHECK(r.output.find("chargpt: '" + weights + "': unexpected member 'lm_head.bias'") != std::string::npos);
}
