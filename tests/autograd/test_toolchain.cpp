// The compiler computes what the source says: GCC 12.2 tuning for AVX-512
// stored brace lists such as std::vector<double>{1, 1, 1, 0} as four 1s (its
// SLP vectorizer), which the root meson.build detects and works around. This
// fails if the workaround is lost on a CPU where the bug shows.
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace {
// Out of line, so the values must really be in memory when it reads them.
template <class V>
__attribute__((noinline)) bool is_1110(const V& v) {
    return v.size() == 4 && v[0] == 1 && v[1] == 1 && v[2] == 1 && v[3] == 0;
}
}  // namespace

TEST_CASE("brace lists with one differing last value keep it (GCC 12 SLP miscompile)") {
    CHECK(is_1110(std::vector<double>{1, 1, 1, 0}));
    CHECK(is_1110(std::vector<std::int64_t>{1, 1, 1, 0}));
    CHECK(is_1110(tapegrad::Labels{1, 1, 1, 0}));
    CHECK(is_1110(tapegrad::Shape{1, 1, 1, 0}));
}
