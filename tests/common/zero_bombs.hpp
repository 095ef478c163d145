// Small files that inflate to gigabytes of zeros, built in time and memory
// proportional to their compressed size (about 1 KB per MiB): one MiB of
// zeros is deflated once after a full flush (byte-aligned, no history behind
// it), so the same compressed bytes stand for every further MiB. CRCs and
// lengths are right, so only a reader's own limits can stop it.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace tapegrad::testing {

struct Deflated {
    std::string data;        // a raw deflate stream (no zlib or gzip wrapper)
    std::uint32_t crc = 0;   // CRC-32 of the inflated bytes
    std::uint64_t size = 0;  // how many bytes it inflates to
};

// `prefix`, then `mib` MiB of zeros.
inline Deflated deflate_with_zeros(const std::string& prefix, std::uint64_t mib) {
    z_stream stream{};
    if (deflateInit2(&stream, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    const auto deflate_all = [&](const char* data, std::size_t size, int flush) {
        std::string out(deflateBound(&stream, uLong(size)) + 64, '\0');
        stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
        stream.avail_in = uInt(size);
        stream.next_out = reinterpret_cast<Bytef*>(out.data());
        stream.avail_out = uInt(out.size());
        const int status = deflate(&stream, flush);
        if (status != Z_OK && status != Z_STREAM_END) throw std::runtime_error("deflate failed");
        out.resize(out.size() - stream.avail_out);
        return out;
    };
    const std::string zeros(std::size_t(1) << 20, '\0');
    Deflated out;
    out.data = deflate_all(prefix.data(), prefix.size(), Z_FULL_FLUSH);
    const std::string block = mib > 0 ? deflate_all(zeros.data(), zeros.size(), Z_FULL_FLUSH) : std::string();
    for (std::uint64_t i = 0; i < mib; ++i) out.data += block;
    out.data += deflate_all(nullptr, 0, Z_FINISH);
    deflateEnd(&stream);
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(prefix.data()), uInt(prefix.size()));
    const uLong zeros_crc = crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), uInt(zeros.size()));
    for (std::uint64_t i = 0; i < mib; ++i) crc = crc32_combine(crc, zeros_crc, z_off_t(zeros.size()));
    out.crc = std::uint32_t(crc);
    out.size = prefix.size() + (mib << 20);
    return out;
}

// A version 1 .npy header as numpy writes it for a C-ordered array (padded
// with spaces to a multiple of 64 bytes), without the data.
inline std::string npy_header(const std::string& descr, const std::string& shape) {
    std::string text = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    const std::size_t total = ((10 + text.size() + 1 + 63) / 64) * 64;
    text += std::string(total - 10 - text.size() - 1, ' ') + "\n";
    return std::string("\x93NUMPY\x01\x00", 8) + char(text.size() & 0xff) + char(text.size() >> 8) + text;
}

inline void put_le(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

// A gzip file (RFC 1952) of `prefix` then `mib` MiB of zeros.
inline std::string gzip_with_zeros(const std::string& prefix, std::uint64_t mib) {
    const Deflated deflated = deflate_with_zeros(prefix, mib);
    std::string gz("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
    gz += deflated.data;
    put_le(gz, deflated.crc, 4);
    put_le(gz, deflated.size & 0xffffffffu, 4);
    return gz;
}

// A zip archive with one deflated member `name` holding `prefix` then `mib`
// MiB of zeros (below 4 GiB: no zip64).
inline std::string zip_with_zeros(const std::string& name, const std::string& prefix, std::uint64_t mib) {
    const Deflated deflated = deflate_with_zeros(prefix, mib);
    if (deflated.size >= (std::uint64_t(1) << 32)) throw std::runtime_error("zip_with_zeros: needs zip64");
    const auto common = [&](std::string& out) {
        put_le(out, 20, 2);                    // version needed to extract (2.0)
        put_le(out, 0, 2);                     // flags
        put_le(out, 8, 2);                     // deflated
        put_le(out, 0, 2);                     // time
        put_le(out, 0x21, 2);                  // date: 1980-01-01
        put_le(out, deflated.crc, 4);
        put_le(out, deflated.data.size(), 4);  // compressed size
        put_le(out, deflated.size, 4);         // uncompressed size
        put_le(out, name.size(), 2);
        put_le(out, 0, 2);                     // extra field length
    };
    std::string zip("PK\3\4", 4);
    common(zip);
    zip += name + deflated.data;
    const std::size_t directory = zip.size();
    zip += std::string("PK\1\2", 4);
    put_le(zip, 20, 2);  // version made by
    common(zip);
    put_le(zip, 0, 2);   // comment length
    put_le(zip, 0, 2);   // disk number
    put_le(zip, 0, 2);   // internal attributes
    put_le(zip, 0, 4);   // external attributes
    put_le(zip, 0, 4);   // offset of the local header
    zip += name;
    const std::size_t directory_size = zip.size() - directory;
    zip += std::string("PK\5\6", 4);
    put_le(zip, 0, 2);
    put_le(zip, 0, 2);
    put_le(zip, 1, 2);
    put_le(zip, 1, 2);
    put_le(zip, directory_size, 4);
    put_le(zip, directory, 4);
    put_le(zip, 0, 2);
    return zip;
}

}  // namespace tapegrad::testing
