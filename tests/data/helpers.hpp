// Shared by the data tests: temporary directories, raw file bytes, the
// message of an expected tapegrad::Error, and data sets whose rows say
// which sample they are.
#pragma once

#include <zlib.h>

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

namespace tapegrad::testing {

inline std::vector<unsigned char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A gzip file of `prefix` then `mib` MiB of zeros, built in time and memory
// proportional to its compressed size (about 1 KB per MiB): one MiB of zeros
// is deflated once after a full flush (byte-aligned, no history behind it),
// so the same compressed bytes stand for every further MiB. The CRC and
// length in the trailer are right, so only the reader's limits stop it.
inline std::vector<unsigned char> gzip_with_zeros(const std::vector<unsigned char>& prefix, std::uint64_t mib) {
    z_stream stream{};
    if (deflateInit2(&stream, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    const auto deflate_all = [&](const unsigned char* data, std::size_t size, int flush) {
        std::vector<unsigned char> out(deflateBound(&stream, uLong(size)) + 64);
        stream.next_in = const_cast<unsigned char*>(data);
        stream.avail_in = uInt(size);
        stream.next_out = out.data();
        stream.avail_out = uInt(out.size());
        const int status = deflate(&stream, flush);
        if (status != Z_OK && status != Z_STREAM_END) throw std::runtime_error("deflate failed");
        out.resize(out.size() - stream.avail_out);
        return out;
    };
    const std::vector<unsigned char> zeros(std::size_t(1) << 20, 0);
    std::vector<unsigned char> gz{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    const auto head = deflate_all(prefix.data(), prefix.size(), Z_FULL_FLUSH);
    gz.insert(gz.end(), head.begin(), head.end());
    const auto block = mib > 0 ? deflate_all(zeros.data(), zeros.size(), Z_FULL_FLUSH) : std::vector<unsigned char>{};
    for (std::uint64_t i = 0; i < mib; ++i) gz.insert(gz.end(), block.begin(), block.end());
    const auto tail = deflate_all(nullptr, 0, Z_FINISH);
    gz.insert(gz.end(), tail.begin(), tail.end());
    deflateEnd(&stream);
    uLong crc = crc32(0, prefix.data(), uInt(prefix.size()));
    const uLong zeros_crc = crc32(0, zeros.data(), uInt(zeros.size()));
    for (std::uint64_t i = 0; i < mib; ++i) crc = crc32_combine(crc, zeros_crc, z_off_t(zeros.size()));
    const std::uint64_t length = prefix.size() + (mib << 20);
    for (int shift = 0; shift < 32; shift += 8) gz.push_back(static_cast<unsigned char>(crc >> shift));
    for (int shift = 0; shift < 32; shift += 8) gz.push_back(static_cast<unsigned char>(length >> shift));
    return gz;
}

// The message of the tapegrad::Error that f throws, "" if it throws none.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
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
