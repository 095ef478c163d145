// Runs each built example as a user would and checks its exit status and the
// verdict it ends with. The examples decide pass/fail themselves (a target
// accuracy, every gradient within tolerance); here we check they say so
// consistently and that bad input is refused with the documented status.
#include <cstdio>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "run.hpp"

using tapegrad::testing::shell_quoted;
using examples_small::run;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const std::string gradcheck_exe = shell_quoted(GRADCHECK_EXE);

}  // namespace

TEST_CASE("logistic_regression separates the two blobs") {
    const auto r = run(shell_quoted(LOGISTIC_REGRESSION_EXE));
    INFO(r.output);
    CHECK(r.status == 0);
    double accuracy = -1;
    REQUIRE(std::sscanf(r.last().c_str(), "accuracy: %lf", &accuracy) == 1);
    // The blobs overlap: the best possible accuracy is Phi(1.5 sqrt 2) = 98.3%.
    CHECK(accuracy >= 0.95);
    CHECK(accuracy <= 1.0);
}

TEST_CASE("residual_spirals reaches 98% on held-out points") {
    const auto r = run(shell_quoted(RESIDUAL_SPIRALS_EXE));
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.last() == "PASS");
    double accuracy = -1;
    REQUIRE(std::sscanf(r.last(1).c_str(), "held-out accuracy: %lf", &accuracy) == 1);
    CHECK(accuracy >= 0.98);
    CHECK(r.output.find("ResidualNet(") != std::string::npos);  // the custom module prints itself
}

TEST_CASE("gradcheck passes the notebook network with ReLU on synthetic inputs") {
    const auto r = run(gradcheck_exe + " --activation relu --samples 30 --batch 2 --synthetic");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.last() == "PASS: every checked gradient matches its central difference");
    // 30 weights in each of the 3 layers and all 100 + 100 + 10 biases.
    CHECK(r.last(1) == "passed: relu 300/300");
    CHECK(r.output.find("inputs: seeded synthetic") != std::string::npos);
    CHECK(r.output.find("ReLU kink: no +-eps step") != std::string::npos);
}

TEST_CASE("bad flags exit with status 2") {
    CHECK(run(gradcheck_exe + " --activation softplus").status == 2);
    CHECK(run(gradcheck_exe + " --samples 0").status == 2);
    CHECK(run(gradcheck_exe + " --batch -3").status == 2);
    CHECK(run(gradcheck_exe + " --no-such-flag").status == 2);
    // Unsigned flags refuse negative numbers instead of wrapping them to 2^64 - 1.
    CHECK(run(gradcheck_exe + " --seed -1").status == 2);
    CHECK(run(gradcheck_exe + " --samples -1").status == 2);
    // ... and numbers above 2^64 - 1 instead of taking 2^64 - 1 (CLI11 2.1 would).
    CHECK(run(gradcheck_exe + " --seed 18446744073709551616").status == 2);
    CHECK(run(shell_quoted(RESIDUAL_SPIRALS_EXE) + " --steps 0").status == 2);
    CHECK(run(shell_quoted(LOGISTIC_REGRESSION_EXE) + " --unexpected").status == 2);
}

// Bad data is status 2 like a bad flag; 1 means "some gradient FAILs".
TEST_CASE("gradcheck refuses a --data directory that is not there") {
    const auto r = run(gradcheck_exe + " --data /nonexistent/mnist --activation tanh --samples 5");
    INFO(r.output);
    CHECK(r.status == 2);
    // The error comes first (before any report) and names what was missing.
    CHECK(starts_with(r.output, "gradcheck: "));
    CHECK(r.output.find("/nonexistent/mnist/t10k-images-idx3-ubyte") != std::string::npos);
    CHECK(r.output.find("PASS") == std::string::npos);
}
