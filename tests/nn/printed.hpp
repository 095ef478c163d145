// A module's printout by operator<<, which ends its line, for the nn tests.
#pragma once

#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <tapegrad/nn/module.hpp>

// What `out << module` writes, checked to end with one newline, without it.
template <class T>
std::string printed(const tapegrad::nn::Module<T>& module) {
    std::ostringstream out;
    out << module;
    const std::string text = out.str();
    REQUIRE(text.size() > 1);
    CHECK(text.back() == '\n');
    CHECK(text[text.size() - 2] != '\n');
    return text.substr(0, text.size() - 1);
}
