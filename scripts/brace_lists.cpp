// Exits 0 where the compiler stores std::vector<double>{1, 1, 1, 0} as
// written, 1 where GCC 12.2's SLP vectorizer (tuning for AVX-512) stores four
// 1s. meson.build runs it at configure time with tapegrad's flags, and
// tests/consumer/run.sh with a consumer's, to check that the workaround
// travels with the package exactly where it is needed.
#include <vector>

// Out of line, so the values must really be in memory when it reads them.
template <class V>
__attribute__((noinline)) bool is_1110(const V& v) {
    return v.size() == 4 && v[0] == 1 && v[1] == 1 && v[2] == 1 && v[3] == 0;
}

int main() { return is_1110(std::vector<double>{1, 1, 1, 0}) ? 0 : 1; }
