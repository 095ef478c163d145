// Shared by the data tests: temporary directories, raw file bytes, the
// message of an expected tapegrad::Error, and data sets whose rows say
// which sample they are.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>
#include "../common/temp_dir.hpp"
#include "../common/zero_bombs.hpp"
#include "../common/error_of.hpp"

namespace tapegrad::testing {


inline std::vector<unsigned char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// gzip_with_zeros (tests/common/zero_bombs.hpp) as file bytes.
inline std::vector<unsigned char> gzip_bytes_with_zeros(const std::vector<unsigned char>& prefix, std::uint64_t mib) {
    const std::string gz = gzip_with_zeros(std::string(prefix.begin(), prefix.end()), mib);
    return {gz.begin(), gz.end()};
}

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// n samples whose features are i * width + j, so any row tells its index i.
inline Dataset indexed_dataset(std::size_t n, std::size_t width = 3) {
    Dataset data;
    data.num_classes = 10;
    data.inputs = xt::xtensor<float, 2>::from_shape({n, width});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < width; ++j) data.inputs(i, j) = static_cast<float>(i * width + j);
        data.labels.push_back(static_cast<std::int64_t>(i % 10));
    }
    return data;
}

// The original index of each row of a subset or batch of indexed_dataset.
inline std::vector<std::size_t> traced_indices(const Dataset& data) {
    std::vector<std::size_t> out;
    for (std::size_t r = 0; r < data.size(); ++r)
        out.push_back(static_cast<std::size_t>(data.inputs(r, 0)) / data.features());
    return out;
}

}  // namespace tapegrad::testing
