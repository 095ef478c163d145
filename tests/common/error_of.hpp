// The message of the tapegrad::Error a call throws: how tests check that an
// error names the op, the shapes, the option or the file.
#pragma once

#include <functional>
#include <string>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::testing {

// The message of the tapegrad::Error that `call` throws, "" if it throws none
// (any other exception propagates, failing the test).
inline std::string error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace tapegrad::testing
