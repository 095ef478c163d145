// Unsigned command-line flags of the examples, all through one rule: the
// text is a whole number written in digits. CLI11 2.1 alone turns "-1" into
// 2^64 - 1 for an unsigned option (so `--early-stop -1` silently meant "never")
// and drops the empty elements of a delimited list (`784,,10` became 784,10).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

namespace examples {

// "" when `text` is a whole number in digits of at most 2^64 - 1, else why
// not (CLI11 2.1 turns a larger one into 2^64 - 1 without a word).
inline std::string whole_number_problem(const std::string& text) {
    if (text.empty()) return "an empty value is not a number";
    if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
        return "'" + text + "' is not a whole number >= 0";
    try {
        static_assert(std::numeric_limits<unsigned long long>::max() == std::numeric_limits<std::uint64_t>::max());
        std::stoull(text);
    } catch (const std::out_of_range&) {
        return "'" + text + "' is too large (above 2^64 - 1)";
    }
    return "";
}

inline const CLI::Validator WholeNumber(
    [](std::string& text) { return whole_number_problem(text); }, "", "WholeNumber");

template <class T>
CLI::Option* add_unsigned(CLI::App& app, const std::string& name, T& target, const std::string& description) {
    static_assert(std::is_unsigned_v<T>, "for unsigned targets");
    return app.add_option(name, target, description)->check(WholeNumber);
}

// A comma-separated list such as 784,100,10: every element a whole number,
// none empty.
template <class T>
CLI::Option* add_unsigned_list(CLI::App& app, const std::string& name, std::vector<T>& target,
                               const std::string& description) {
    static_assert(std::is_unsigned_v<T>, "for unsigned targets");
    auto* option = app.add_option_function<std::string>(
        name,
        [&target, name](const std::string& text) {
            std::vector<T> values;
            std::size_t start = 0;
            while (true) {
                const std::size_t comma = text.find(',', start);
                const std::string element = text.substr(start, comma == std::string::npos ? comma : comma - start);
                const std::string problem = whole_number_problem(element);
                if (!problem.empty()) throw CLI::ValidationError(name, "element " + std::to_string(values.size() + 1) +
                                                                           " of '" + text + "': " + problem);
                try {
                    const unsigned long long value = std::stoull(element);
                    if (value > std::numeric_limits<T>::max()) throw std::out_of_range(element);
                    values.push_back(static_cast<T>(value));
                } catch (const std::out_of_range&) {
                    throw CLI::ValidationError(name, "'" + element + "' is too large");
                }
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            target = std::move(values);
        },
        description);
    std::string shown;
    for (const T& value : target) shown += (shown.empty() ? "" : ",") + std::to_string(value);
    return option->default_str(shown)->type_name("N,N,...");
}

}  // namespace examples
