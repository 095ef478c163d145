// The IDX parser behind the gzip layer. Mutating a .gz file directly mostly
// breaks its CRC, so fuzz_idx rarely gets past inflate; here the input is the
// uncompressed file, gzip-compressed by the harness before reading. The last
// input byte, when odd, appends trailing garbage after the gzip stream.
#include <zlib.h>

#include <cstdlib>
#include <vector>

#include "input_file.hpp"
#include "read_idx_both.hpp"

namespace {

std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size) {
    z_stream zs{};
    // 16 + MAX_WBITS: a gzip header and trailer, as IDX .gz files have.
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
    std::vector<std::uint8_t> out(deflateBound(&zs, uLong(size)));
    zs.next_in = const_cast<Bytef*>(data);
    zs.avail_in = uInt(size);
    zs.next_out = out.data();
    zs.avail_out = uInt(out.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static InputFile file;
    const bool garbage = size > 0 && (data[size - 1] & 1);
    std::vector<std::uint8_t> compressed = gzip(data, size);
    if (garbage) compressed.insert(compressed.end(), {0x00, 0x1f, 0x8b});
    const std::string& path = file.hold(compressed.data(), compressed.size());
    read_idx_both(path);
    return 0;
}
