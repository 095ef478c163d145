// Reading the interchange fixtures: a member decoded, values compared with
// it, and each member's dtype and shape as its .npy header states them.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <string>

#include <tapegrad/io/npz.hpp>

namespace interchange {

// Member `name` of the archive at `path` (already read into `members`), decoded as X.
template <class X>
xt::xarray<X> member(const tapegrad::io::npz::Members& members, const std::string& name, const std::string& path) {
    const auto found = members.find(name);
    REQUIRE_MESSAGE(found != members.end(), path, " has no member ", name);
    return tapegrad::io::npz::from_npy<X>(found->second, path + ":" + name);
}

// Checks every element: |actual - expected| <= tolerance * (1 + |expected|)
// (each caller justifies its tolerance). Returns the largest
// |actual - expected| / (1 + |expected|), for the test's report.
template <class X>
double check_close(const xt::xarray<X>& actual, const xt::xarray<X>& expected, double tolerance) {
    REQUIRE(actual.shape() == expected.shape());
    double worst = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const double a = actual.flat(i), e = expected.flat(i);
        CHECK(std::abs(a - e) <= tolerance * (1 + std::abs(e)));
        worst = std::max(worst, std::abs(a - e) / (1 + std::abs(e)));
    }
    return worst;
}

// Each .npz member's dtype and shape, from its .npy header's dict, e.g.
// "'descr': '<f4' 'shape': (16, 1, 5, 5)" (the rest of the header, such as
// its padding, may differ between writers).
inline std::map<std::string, std::string> dtypes_and_shapes(const tapegrad::io::npz::Members& members) {
    static const std::regex descr(R"('descr': *'[^']*')"), shape(R"('shape': *\([^)]*\))");
    std::map<std::string, std::string> found;
    for (const auto& [name, bytes] : members) {
        const std::string header = bytes.substr(0, bytes.find('\n'));
        std::smatch d, s;
        REQUIRE(std::regex_search(header, d, descr));
        REQUIRE(std::regex_search(header, s, shape));
        found[name] = d.str() + " " + s.str();
    }
    return found;
}

}  // namespace interchange
