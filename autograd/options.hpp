/// \file
/// The one way tapegrad spells options, LibTorch's: a class XOptions takes
/// the required arguments in its constructor and has a chainable setter and a
/// getter of the same name for every other one,
///
/// \code
///   auto options = optim::SGDOptions(0.1).momentum(0.9).nesterov(true);
///   options.momentum();  // 0.9
/// \endcode
///
/// Unlike LibTorch's TORCH_ARG, every setter checks its value, so a bad one
/// fails where it is written, as a tapegrad::Error naming the options class,
/// the option, the value and what is allowed:
///
///     SGDOptions: momentum must be in [0, 1), got 1.5
///
/// Constructors set their required arguments through the same setters, so
/// those are checked too. Rules that tie two options together (SGD's Nesterov
/// needs momentum) are checked by whoever uses the options, once all are set.
///
/// Declaring an option inside class XOptions (which must also declare
/// `static constexpr const char* options_name = "XOptions";`):
///
/// \code
///   TAPEGRAD_OPTION(double, momentum, value >= 0 && value < 1, "in [0, 1)") = 0;
/// \endcode
///
/// `value` names the candidate in the condition; the text completes
/// "momentum must be ..."; what follows the macro is the default.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::detail {

// A value as an error message shows it: the shortest text that reads back as
// the same number (so 1e-08 stays 1e-08, and 0.9999999 is not shown as 1).
inline std::string option_value_text(double value) {
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}
inline std::string option_value_text(bool value) { return value ? "true" : "false"; }
inline std::string option_value_text(const std::string& value) { return "'" + value + "'"; }
template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
std::string option_value_text(Int value) {
    return std::to_string(value);
}
template <class A, class B>
std::string option_value_text(const std::pair<A, B>& value) {
    return "(" + option_value_text(value.first) + ", " + option_value_text(value.second) + ")";
}
template <class V>
std::string option_value_text(const std::vector<V>& values) {
    std::string text = "{";
    for (std::size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + option_value_text(values[i]);
    return text + "}";
}
template <class V>
std::string option_value_text(const std::optional<V>& value) {
    return value ? option_value_text(*value) : std::string("unset");
}
// Enumerations have no text of their own here; their setters accept every value.
template <class E, class = std::enable_if_t<std::is_enum_v<E>>, class = void>
std::string option_value_text(E value) {
    return std::to_string(static_cast<long long>(value));
}

template <class V>
[[noreturn]] void bad_option(const char* options_name, const char* option, const V& value, const char* allowed) {
    throw Error(std::string(options_name) + ": " + option + " must be " + allowed + ", got " +
                option_value_text(value));
}

}  // namespace tapegrad::detail

/// Declares option `name` of type `Type` in an options class: a public
/// getter name(), a public chainable setter name(value), which throws
/// tapegrad::Error "XOptions: name must be <allowed>, got <value>" unless
/// `condition` (on `value`) holds, and the private member name_; what follows
/// the macro is the default. See the top of this file.
///
/// The setter takes the value by copy (options are
/// small) and returns the options object, so calls chain; its return type is
/// spelled decltype(*this) so that constructors can call it before the
/// compiler has seen its body.
///
/// The API reference shows this expansion (Doxyfile.in expands the macro as
/// defined here): the `///` comment above an option documents its getter, and
/// the comment inside documents every setter.
#define TAPEGRAD_OPTION(Type, name, condition, allowed)                                      \
public:                                                                                      \
    const Type& name() const noexcept { return name##_; }                                    \
    /** Sets name##() and returns these options, for chaining. The value must be allowed##: \
        any other throws tapegrad::Error and changes nothing. */                             \
    auto name(Type value)->decltype(*this) {                                                 \
        if (!(condition)) ::tapegrad::detail::bad_option(options_name, #name, value, allowed); \
        name##_ = std::move(value);                                                          \
        return *this;                                                                        \
    }                                                                                        \
                                                                                             \
private:                                                                                     \
    Type name##_

/// Options every value of which is allowed (a flag, an initialiser, a seed):
/// TAPEGRAD_OPTION without a condition.
#define TAPEGRAD_OPTION_ANY(Type, name) TAPEGRAD_OPTION(Type, name, ((void)value, true), "anything")

/// The conditions options use most, so the same rule reads the same everywhere.
namespace tapegrad::allowed {

/// Finite and > 0.
inline bool positive_finite(double v) { return std::isfinite(v) && v > 0; }
/// Finite and >= 0.
inline bool non_negative_finite(double v) { return std::isfinite(v) && v >= 0; }
/// In [0, 1).
inline bool zero_to_below_one(double v) { return v >= 0 && v < 1; }  // [0, 1)
/// A count stored as a double (checkpoints keep steps and epochs as float64):
/// a whole number >= 0 that the double holds exactly (<= 2^53), so that
/// converting it to an integer type is defined and loses nothing.
inline bool exact_count(double v) { return v >= 0 && v <= 9007199254740992.0 && v == std::floor(v); }

}  // namespace tapegrad::allowed
