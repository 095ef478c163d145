#include <tapegrad/data/idx.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/byte_source.hpp>

namespace tapegrad {

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint8_t kUnsignedByte = 0x08;
// zlib takes unsigned lengths; stay far below their limit, and grow
// buffers by this much so a bogus header cannot make us allocate gigabytes
// before the file runs out.
constexpr std::size_t kChunk = std::size_t(1) << 20;

std::string hex32(std::uint32_t v) {
    char buf[11];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Reads IDX fields in order, turning every short read into an error that
// says what was being read and at which byte.
class IdxReader {
public:
    explicit IdxReader(const std::string& path) : in_(path) {}

    [[noreturn]] void fail(const std::string& why) const { throw Error("IDX file '" + in_.path() + "': " + why); }

    std::uint32_t read_u32(const std::string& what) {
        std::uint8_t b[4];
        read_exact(b, 4, what);
        return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
    }

    // Fills out with exactly n bytes, growing it as data arrives.
    void read_payload(std::vector<std::uint8_t>& out, std::size_t n, const std::string& what) {
        const std::string context =
            what + " (" + std::to_string(n) + " bytes from byte " + std::to_string(in_.offset()) + ")";
        out.clear();
        while (out.size() < n) {
            const std::size_t chunk = std::min(kChunk, n - out.size());
            out.resize(out.size() + chunk);
            read_exact(out.data() + out.size() - chunk, chunk, context);
        }
    }

    // The format has no room for anything after the values: the first extra
    // byte is refused, without inflating (or counting) the rest. Reading past
    // the values also makes zlib check the gzip trailer (CRC and length).
    void expect_end() {
        std::uint8_t extra = 0;
        const std::uint64_t end = in_.offset();
        if (in_.read(&extra, 1) != 0)
            fail("trailing garbage after the data, which ends at byte " + std::to_string(end) + where());
        if (!in_.end_problem().empty())
            fail(in_.end_problem() + ", after the complete IDX data (" + std::to_string(end) + " bytes uncompressed)");
    }

    // Refuses, before allocating, values beyond what the caller allows.
    void check_cap(std::uint64_t bytes, std::size_t max_bytes, const std::string& what) const {
        if (bytes > max_bytes)
            fail("header claims " + std::to_string(bytes) + " bytes of " + what + ", more than the " +
                 std::to_string(max_bytes) + " bytes allowed (the max_bytes argument, default " +
                 std::to_string(kIdxMaxBytes) + ", raises it)");
    }

private:
    void read_exact(std::uint8_t* dst, std::size_t n, const std::string& what) {
        if (in_.read(dst, n) == n) return;
        std::string reason = "truncated at byte " + std::to_string(in_.offset()) + where() + " while reading " + what;
        if (!in_.end_problem().empty()) reason += "; " + in_.end_problem();
        fail(reason);
    }

    std::string where() const { return in_.compressed() ? " of the uncompressed data" : ""; }

    io::ByteSource in_;
};

void check_magic(IdxReader& in, std::uint32_t expected, const char* expected_kind) {
    const std::uint32_t magic = in.read_u32("the magic number");
    if (magic == expected) return;
    const std::string want = " (expected " + hex32(expected) + ", " + expected_kind + ")";
    if (magic == kImagesMagic) in.fail("is an IDX images file, magic " + hex32(magic) + want);
    if (magic == kLabelsMagic) in.fail("is an IDX labels file, magic " + hex32(magic) + want);
    if ((magic >> 16) != 0) in.fail("not an IDX file: magic " + hex32(magic) + want);
    if (((magic >> 8) & 0xff) != kUnsignedByte)
        in.fail("IDX element type " + hex32((magic >> 8) & 0xff) + " is not unsigned byte" + want);
    in.fail("IDX file with " + std::to_string(magic & 0xff) + " dimensions" + want);
}

std::size_t read_dim(IdxReader& in, const char* name) {
    return static_cast<std::size_t>(in.read_u32(std::string("the ") + name + " in the header"));
}

std::uint32_t to_u32(std::size_t v, const std::string& path, const char* name) {
    if (v > std::numeric_limits<std::uint32_t>::max())
        throw Error("IDX file '" + path + "': " + name + " " + std::to_string(v) + " does not fit the u32 header field");
    return static_cast<std::uint32_t>(v);
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// gzip (RFC 1952) of `raw` at zlib's default level, as gzopen("wb6") wrote.
std::string gzip_bytes(const std::string& raw, const std::string& path) {
    z_stream stream{};
    if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error("IDX file '" + path + "': cannot start gzip compression");
    std::string out;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    std::size_t left = raw.size();
    int status = Z_OK;
    do {
        // avail_in is 32 bits: feed a large input in chunks.
        if (stream.avail_in == 0 && left > 0) {
            stream.avail_in = static_cast<uInt>(std::min(kChunk, left));
            left -= stream.avail_in;
        }
        const std::size_t have = out.size();
        out.resize(have + kChunk);
        stream.next_out = reinterpret_cast<Bytef*>(out.data() + have);
        stream.avail_out = static_cast<uInt>(kChunk);
        status = deflate(&stream, left == 0 && stream.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
        out.resize(have + kChunk - stream.avail_out);
    } while (status == Z_OK || status == Z_BUF_ERROR);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) throw Error("IDX file '" + path + "': gzip compression failed");
    return out;
}

// The whole file is built in memory, then written by the one atomic writer,
// so a crash or a concurrent reader never meets a partial file.
void write_idx(const std::string& path, const std::vector<std::uint8_t>& header,
               const std::vector<std::uint8_t>& values, bool gzip) {
    std::string raw(header.begin(), header.end());
    raw.append(values.begin(), values.end());
    io::write_file_atomically(path, gzip ? gzip_bytes(raw, path) : raw);
}

}  // namespace

IdxImages read_idx_images(const std::string& path, std::size_t max_bytes) {
    IdxReader in(path);
    check_magic(in, kImagesMagic, "unsigned-byte 3-D images");
    IdxImages images;
    images.count = read_dim(in, "image count");
    images.rows = read_dim(in, "row count");
    images.cols = read_dim(in, "column count");
    if (images.rows == 0 || images.cols == 0)
        in.fail("images of " + std::to_string(images.rows) + " x " + std::to_string(images.cols) + " pixels");
    // Each factor is below 2^32, so rows * cols cannot overflow 64 bits.
    const std::uint64_t per_image = std::uint64_t(images.rows) * images.cols;
    if (images.count > std::numeric_limits<std::size_t>::max() / per_image)
        in.fail("header claims " + std::to_string(images.count) + " images of " + std::to_string(per_image) +
                " pixels, more than memory can address");
    in.check_cap(std::uint64_t(images.count) * per_image, max_bytes, "pixels");
    in.read_payload(images.pixels, images.count * per_image, "the pixels");
    in.expect_end();
    return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path, std::size_t max_bytes) {
    IdxReader in(path);
    check_magic(in, kLabelsMagic, "unsigned-byte 1-D labels");
    const std::size_t count = read_dim(in, "label count");
    in.check_cap(count, max_bytes, "labels");
    std::vector<std::uint8_t> labels;
    in.read_payload(labels, count, "the labels");
    in.expect_end();
    return labels;
}

void write_idx_images(const std::string& path, const IdxImages& images, bool gzip) {
    const std::size_t expected = images.count * images.rows * images.cols;
    if (images.pixels.size() != expected)
        throw Error("IDX file '" + path + "': " + std::to_string(images.pixels.size()) + " pixels given for " +
                    std::to_string(images.count) + " images of " + std::to_string(images.rows) + " x " +
                    std::to_string(images.cols));
    std::vector<std::uint8_t> header;
    put_u32(header, kImagesMagic);
    put_u32(header, to_u32(images.count, path, "image count"));
    put_u32(header, to_u32(images.rows, path, "row count"));
    put_u32(header, to_u32(images.cols, path, "column count"));
    write_idx(path, header, images.pixels, gzip);
}

void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels, bool gzip) {
    std::vector<std::uint8_t> header;
    put_u32(header, kLabelsMagic);
    put_u32(header, to_u32(labels.size(), path, "label count"));
    write_idx(path, header, labels, gzip);
}

}  // namespace tapegrad
