// Shared by the ops that take a 0/1 mask as a tensor (where, masked_fill).
#pragma once

#include <string>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::detail {

// Throws naming `op` unless `mask` holds only 0s and 1s; `what` is what the
// op calls it ("condition", "mask").
template <class T>
void check_mask(const char* op, const char* what, const Tensor<T>& mask) {
    const T* m = mask.data().data();
    for (std::size_t i = 0; i < mask.size(); ++i)
        if (m[i] != T(0) && m[i] != T(1))
            throw Error(std::string(op) + ": the " + what + " of shape " + shape_str(mask.shape()) + " holds " +
                        option_value_text(double(m[i])) + " at flat index " + std::to_string(i) +
                        "; only 0 and 1 are allowed");
}

}  // namespace tapegrad::detail
