#include <tapegrad/data/idx.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <unistd.h>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/byte_source.hpp>

namespace tapegrad {

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint8_t kUnsignedByte = 0x08;
// zlib's gzwrite takes an unsigned length; stay far below its limit, and grow
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

    // The format has no room for anything after the values. Reading past them
    // also makes zlib check the gzip trailer (CRC and length).
    void expect_end() {
        std::uint8_t extra[4096];
        const std::uint64_t end = in_.offset();
        std::uint64_t total = end;
        while (const std::size_t got = in_.read(extra, sizeof extra)) total += got;
        if (total > end)
            fail("trailing garbage: " + std::to_string(total - end) + " bytes after the data, which ends at byte " +
                 std::to_string(end) + where());
        if (!in_.end_problem().empty())
            fail(in_.end_problem() + ", after the complete IDX data (" + std::to_string(end) + " bytes uncompressed)");
    }

private:
    void read_exact(std::uint8_t* dst, std::size_t n, const std::string& what) {
        if (in_.read(dst, n) == n) return;
        std::string reason = "truncated at byte " + std::to_string(in_.offset()) + where() + " while reading " + what;
        if (!in_.end_problem().empty()) reason += "; " + in_.end_problem();
        fail(reason);
    }

    std::string where() const { return in_.compressed() ? " of the uncompressed data" : ""; }

    ByteSource in_;
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

// Header and values go to `<path>.tmp.<pid>` first, then one rename replaces
// `path`, so a crash or a concurrent reader never meets a partial file.
void write_atomically(const std::string& path, const std::vector<std::uint8_t>& header,
                      const std::vector<std::uint8_t>& values, bool gzip) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    // "T" makes zlib write the bytes through untouched: one code path for both.
    gzFile out = gzopen(tmp.c_str(), gzip ? "wb6" : "wbT");
    if (!out) throw Error("IDX file '" + path + "': cannot open '" + tmp + "' for writing");
    bool ok = true;
    for (const auto* part : {&header, &values}) {
        for (std::size_t at = 0; ok && at < part->size(); at += kChunk) {
            const auto len = static_cast<unsigned>(std::min(kChunk, part->size() - at));
            ok = gzwrite(out, part->data() + at, len) == static_cast<int>(len);
        }
    }
    ok = gzclose(out) == Z_OK && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw Error("IDX file '" + path + "': writing failed (disk full or no permission?)");
    }
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
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
    in.read_payload(images.pixels, images.count * per_image, "the pixels");
    in.expect_end();
    return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
    IdxReader in(path);
    check_magic(in, kLabelsMagic, "unsigned-byte 1-D labels");
    const std::size_t count = read_dim(in, "label count");
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
    write_atomically(path, header, images.pixels, gzip);
}

void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels, bool gzip) {
    std::vector<std::uint8_t> header;
    put_u32(header, kLabelsMagic);
    put_u32(header, to_u32(labels.size(), path, "label count"));
    write_atomically(path, header, labels, gzip);
}

}  // namespace tapegrad
