// gradcheck on real MNIST digits, as its own test so that the runner can
// report it as skipped (exit 77, meson's skip status) when data/mnist is not
// there, rather than as a pass that checked nothing.
#include <cstdio>
#include <filesystem>
#include <string>

#include "run.hpp"

int main() {
    const std::string mnist = std::string(SOURCE_DIR) + "/data/mnist";
    if (!std::filesystem::exists(mnist)) {
        std::printf("SKIP: no %s (scripts/setup-data.sh creates it)\n", mnist.c_str());
        return 77;
    }
    const auto r = examples_small::run(tapegrad::testing::shell_quoted(GRADCHECK_EXE) +
                                       " --activation tanh --samples 20 --batch 2 --data " +
                                       tapegrad::testing::shell_quoted(mnist));
    std::printf("%s", r.output.c_str());
    int failures = 0;
    const auto check = [&](bool ok, const char* what) {
        if (!ok) std::printf("FAILED: %s\n", what), ++failures;
    };
    check(r.status == 0, "exit status 0");
    check(r.last(1) == "passed: tanh 270/270", "every checked gradient passes (270/270)");
    check(r.output.find("inputs: MNIST test digits from") != std::string::npos, "the inputs are MNIST digits");
    return failures == 0 ? 0 : 1;
}
