// test_autograd's main: runs the test cases, then, if all of them ran, fails
// unless every op of autograd/op_list.hpp passed gradcheck and gradgradcheck
// (or, for an op without a gradient, its value and no-gradient checks)
// (op_coverage.hpp says on how many shapes). A filtered run (-tc=...) skips that
// last check: it could not have seen every op.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <sstream>

#include "op_coverage.hpp"

namespace {

// Remembers the run's totals: every registered test case ran when none was
// filtered out.
struct RunTotals : doctest::IReporter {
    static inline bool every_case_ran = false;

    explicit RunTotals(const doctest::ContextOptions&) {}
    void test_run_end(const doctest::TestRunStats& stats) override {
        every_case_ran = stats.numTestCases > 0 && stats.numTestCasesPassingFilters == stats.numTestCases;
    }
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("run_totals", 1, RunTotals);

}  // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int failed = context.run();
    if (context.shouldExit()) return failed;
    if (!RunTotals::every_case_ran) {
        std::cout << "op coverage: not checked, not every test case ran\n";
        return failed;
    }
    std::ostringstream gaps;
    const std::size_t missing = tapegrad::testing::report_missing_coverage(gaps);
    if (missing == 0) {
        std::cout << "op coverage: all " << tapegrad::testing::kOpCount
                  << " ops of autograd/op_list.hpp passed gradcheck and gradgradcheck (or, without a gradient, "
                     "their value checks)\n";
        return failed;
    }
    std::cerr << "op coverage FAILED: " << missing << " of " << tapegrad::testing::kOpCount
              << " ops of autograd/op_list.hpp lack passing gradcheck and gradgradcheck tests (or value checks)"
                 " (tests/autograd/test_grad_*.cpp):\n"
              << gaps.str();
    return 1;
}
