// One .npz member's bytes (an .npy array: preamble, header text, values).
// Inside a zip the fuzzer could rarely change them without breaking the CRC,
// so the member decoder gets a target of its own.
#include "decode_all.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    decode_all(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
    return 0;
}
