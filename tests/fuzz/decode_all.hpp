// Decodes .npy bytes as every dtype the library reads (parameters as float
// or double, a checkpoint's epoch as int64, its texts as uint8): all but one
// must fail with tapegrad::Error, through the dtype check or before it.
#pragma once

#include <cstdint>
#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/npz.hpp>

inline void decode_all(const std::string& bytes, const std::string& where) {
    using tapegrad::io::npz::from_npy;
    try { from_npy<float>(bytes, where); } catch (const tapegrad::Error&) {}
    try { from_npy<double>(bytes, where); } catch (const tapegrad::Error&) {}
    try { from_npy<std::int64_t>(bytes, where); } catch (const tapegrad::Error&) {}
    try { from_npy<std::uint8_t>(bytes, where); } catch (const tapegrad::Error&) {}
}
