#include <tapegrad/io/npz.hpp>

#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

#include <xtensor/xnpy.hpp>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/byte_source.hpp>

namespace tapegrad::io::npz {

namespace {

std::string zip_message(int code) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    return message;
}

struct ZipCloser {
    void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipHandle = std::unique_ptr<zip_t, ZipCloser>;

// Only a regular file is opened as an archive (open_regular_file): a FIFO is
// refused instead of waited on (libzip's own open would block on it), and a
// directory or device is named as what it is.
ZipHandle open_zip(const std::string& path) {
    const int fd = open_regular_file(path).fd;
    int code = 0;
    zip_t* archive = zip_fdopen(fd, ZIP_CHECKCONS, &code);  // owns fd from here on success
    if (!archive) ::close(fd);
    if (!archive)
        throw Error("'" + path + "': cannot open as an npz archive: " + zip_message(code) +
                    (code == ZIP_ER_NOZIP ? " (not a zip file, or a truncated one)" : ""));
    return ZipHandle(archive);
}

// npy version 1 stores the header length in 2 bytes, version 2 and 3 in 4.
// xnpy reads them as signed chars, which breaks for lengths with a byte above
// 127, so the preamble is read here.
struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
    std::size_t data_offset = 0;
};

// The header text is a Python dict literal, as numpy writes it:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// followed by spaces and a newline. xnpy's parser is not used: fuzzing found
// it reading before the start of a string on malformed headers (undefined
// behaviour) and accepting garbage dimensions. This one accepts exactly the
// literal above (any key order, either quote, optional trailing commas) and
// nothing else.
class HeaderText {
public:
    explicit HeaderText(const std::string& text) : text_(text) {}

    NpyHeader parse() {
        NpyHeader header;
        bool seen_descr = false, seen_fortran = false, seen_shape = false;
        expect('{');
        while (!next_is('}')) {
            const std::string key = quoted();
            expect(':');
            if (key == "descr" && !seen_descr) {
                header.descr = quoted();
                seen_descr = true;
            } else if (key == "fortran_order" && !seen_fortran) {
                header.fortran_order = boolean();
                seen_fortran = true;
            } else if (key == "shape" && !seen_shape) {
                header.shape = tuple();
                seen_shape = true;
            } else {
                fail("unexpected or repeated key '" + key + "'");
            }
            if (!next_is('}')) expect(',');
        }
        expect('}');
        skip_space();
        if (at_ != text_.size()) fail("unexpected text after the dictionary");
        if (!seen_descr || !seen_fortran || !seen_shape) fail("missing 'descr', 'fortran_order' or 'shape'");
        return header;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw Error("malformed .npy header (" + why + " at character " + std::to_string(at_) + ")");
    }
    void skip_space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n')) ++at_;
    }
    bool next_is(char c) {
        skip_space();
        return at_ < text_.size() && text_[at_] == c;
    }
    void expect(char c) {
        if (!next_is(c)) fail(std::string("expected '") + c + "'");
        ++at_;
    }
    std::string quoted() {
        skip_space();
        if (at_ >= text_.size() || (text_[at_] != '\'' && text_[at_] != '"')) fail("expected a quoted string");
        const char quote = text_[at_++];
        const std::size_t end = text_.find(quote, at_);
        if (end == std::string::npos) fail("unterminated string");
        std::string value = text_.substr(at_, end - at_);
        at_ = end + 1;
        return value;
    }
    bool boolean() {
        skip_space();
        for (const bool value : {true, false}) {
            const std::string word = value ? "True" : "False";
            if (text_.compare(at_, word.size(), word) == 0) {
                at_ += word.size();
                return value;
            }
        }
        fail("expected True or False");
    }
    std::vector<std::size_t> tuple() {
        std::vector<std::size_t> values;
        expect('(');
        while (!next_is(')')) {
            if (at_ >= text_.size() || text_[at_] < '0' || text_[at_] > '9') fail("expected a dimension");
            std::size_t value = 0;
            for (; at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'; ++at_) {
                if (value > (std::numeric_limits<std::size_t>::max() - 9) / 10) fail("dimension too large");
                value = value * 10 + std::size_t(text_[at_] - '0');
            }
            values.push_back(value);
            if (!next_is(')')) expect(',');
        }
        expect(')');
        return values;
    }

    const std::string& text_;
    std::size_t at_ = 0;
};

// numpy itself refuses headers above 10,000 bytes unless told otherwise;
// this bounds what a member can make read() hold before its data.
constexpr std::size_t kMaxHeaderLength = std::size_t(1) << 16;

// The bytes before the header text (magic, version, header length) and the
// header text's length. npy version 1 stores the length in 2 bytes, versions
// 2 and 3 (3: the text is UTF-8) in 4.
struct Preamble {
    std::size_t text_offset = 0;
    std::size_t text_length = 0;
};

Preamble parse_preamble(const std::string& bytes) {
    const std::size_t magic_length = xt::detail::magic_string_length;
    if (bytes.size() < magic_length + 4 || bytes.compare(0, magic_length, xt::detail::magic_string) != 0)
        throw Error("not an .npy member");
    const auto byte = [&](std::size_t i) { return std::size_t(static_cast<unsigned char>(bytes[i])); };
    const std::size_t major = byte(magic_length);
    if (major < 1 || major > 3)
        throw Error("unsupported .npy header version " + std::to_string(major) + "." +
                    std::to_string(byte(magic_length + 1)) + " (versions 1 to 3 are read)");
    Preamble preamble;
    preamble.text_length = byte(magic_length + 2) | byte(magic_length + 3) << 8;
    preamble.text_offset = magic_length + 4;
    if (major >= 2) {
        if (bytes.size() < magic_length + 6) throw Error("truncated .npy header");
        preamble.text_length |= byte(magic_length + 4) << 16 | byte(magic_length + 5) << 24;
        preamble.text_offset += 2;
    }
    if (preamble.text_length == 0) throw Error("empty .npy header");
    if (preamble.text_length > kMaxHeaderLength)
        throw Error("the .npy header claims " + std::to_string(preamble.text_length) + " bytes, more than the " +
                    std::to_string(kMaxHeaderLength) + " read");
    return preamble;
}

std::size_t item_size(const std::string& descr);

NpyHeader parse_npy_header(const std::string& bytes) {
    const Preamble preamble = parse_preamble(bytes);
    if (bytes.size() < preamble.text_offset + preamble.text_length) throw Error("truncated .npy header");
    const std::string text = bytes.substr(preamble.text_offset, preamble.text_length);
    NpyHeader header = HeaderText(text).parse();
    header.data_offset = preamble.text_offset + preamble.text_length;
    // Counts the bytes, and bounds even an empty shape's extents, which
    // xtensor multiplies into strides.
    checked_element_count(".npy header", header.shape, std::max<std::size_t>(item_size(header.descr), 1));
    return header;
}

// The size of one element of the dtypes tapegrad reads; 0 for any other.
std::size_t item_size(const std::string& descr) {
    if (descr == "<f4") return 4;
    if (descr == "<f8" || descr == "<i8") return 8;
    if (descr == "|u1") return 1;
    return 0;
}

// Appends to `bytes` until it holds `size` bytes or the member ends.
void read_up_to(zip_file_t* file, std::string& bytes, std::size_t size, const std::string& where) {
    while (bytes.size() < size) {
        const std::size_t have = bytes.size();
        bytes.resize(size);
        const zip_int64_t got = zip_fread(file, bytes.data() + have, size - have);
        if (got < 0) throw Error(where + " is damaged: " + zip_file_strerror(file));
        bytes.resize(have + std::size_t(got));
        if (got == 0) return;
    }
}

// The size a zip entry declares is just a header field: a damaged or
// malicious file may claim gigabytes. So the buffer grows only as data
// actually arrives (at most ~1032x the compressed size, deflate's limit), and
// the data must then come to exactly the declared size. Reading to the end
// also makes libzip verify the member's CRC.
std::string read_member(zip_file_t* file, zip_uint64_t declared, const std::string& where, std::string bytes) {
    constexpr std::size_t chunk = std::size_t(1) << 20;
    for (;;) {
        const std::size_t have = bytes.size();
        bytes.resize(have + chunk);
        const zip_int64_t got = zip_fread(file, bytes.data() + have, chunk);
        if (got < 0) throw Error(where + " is damaged: " + zip_file_strerror(file));
        bytes.resize(have + std::size_t(got));
        if (got == 0) break;
        if (bytes.size() > declared)
            throw Error(where + " holds more than the " + std::to_string(declared) + " bytes its zip entry declares");
    }
    if (bytes.size() != declared)
        throw Error(where + " is truncated: " + std::to_string(bytes.size()) + " of the " + std::to_string(declared) +
                    " bytes its zip entry declares");
    return bytes;
}

// Reads a member's .npy header alone and checks it against its declared size
// and what the caller expects, before any of its data is inflated. Returns
// the bytes read so far (the preamble and header); adds to `other_bytes` the
// size of a member the caller did not name.
std::string check_member_header(zip_file_t* file, zip_uint64_t declared, const std::string& path,
                                const std::string& name, const ReadOptions& options, std::size_t& other_bytes) {
    const std::string where = "'" + path + "': member '" + name + "'";
    std::string bytes;
    NpyHeader header;
    try {
        // Enough for the preamble of any version, then the header text.
        read_up_to(file, bytes, std::size_t(std::min<zip_uint64_t>(declared, 12)), where);
        const Preamble preamble = parse_preamble(bytes);
        if (preamble.text_offset + preamble.text_length > declared) throw Error("truncated .npy header");
        read_up_to(file, bytes, preamble.text_offset + preamble.text_length, where);
        header = parse_npy_header(bytes);
    } catch (const Error& e) {
        throw Error(where + ": " + e.what());
    }
    const std::size_t size = item_size(header.descr);
    if (size == 0)
        throw Error(where + ": dtype '" + header.descr + "' is not one tapegrad reads (<f4, <f8, <i8, |u1)");
    const auto found = options.expected().find(name);
    if (found != options.expected().end()) {
        if (header.descr != found->second.dtype)
            throw Error(where + " has dtype '" + header.descr + "', expected '" + found->second.dtype + "'");
        if (header.shape != found->second.shape)
            throw Error(where + " has shape " + shape_str(header.shape) + ", expected " +
                        shape_str(found->second.shape));
    } else if (!options.others()) {
        throw Error("'" + path + "': unexpected member '" + name + "'");
    }
    // The data the header describes, which the zip entry must declare exactly.
    const std::size_t data_bytes = size * checked_element_count(where.c_str(), header.shape, size);
    if (declared < header.data_offset || declared - header.data_offset != data_bytes)
        throw Error(where + ": its .npy header describes " + std::to_string(header.data_offset + data_bytes) +
                    " bytes (shape " + shape_str(header.shape) + ", dtype '" + header.descr +
                    "'), but its zip entry declares " + std::to_string(declared) + ": truncated or damaged");
    if (found == options.expected().end()) {
        if (data_bytes > options.max_other_bytes() - std::min(other_bytes, options.max_other_bytes()))
            throw Error(where + ": " + std::to_string(data_bytes) + " bytes of data would exceed the " +
                        std::to_string(options.max_other_bytes()) + " bytes allowed for members read unchecked " +
                        "(ReadOptions::max_other_bytes raises it)");
        other_bytes += data_bytes;
    }
    return bytes;
}

// The archive's bytes, built in memory: the file itself is written by
// io::write_file_atomically like every other file.
std::string zip_in_memory(const Members& members, const std::string& path) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
    if (!buffer) throw Error("'" + path + "': " + zip_error_strerror(&error));
    // Kept alive past zip_close, which would otherwise free it.
    zip_source_keep(buffer);
    std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> kept(buffer, zip_source_free);
    zip_t* raw = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
    if (!raw) {
        zip_source_free(buffer);  // the reference zip_open_from_source did not take
        throw Error("'" + path + "': " + zip_error_strerror(&error));
    }
    ZipHandle archive(raw);
    for (const auto& [name, bytes] : members) {
        // The buffers stay alive in `members` until zip_close has read them.
        zip_source_t* source = zip_source_buffer(archive.get(), bytes.data(), bytes.size(), 0);
        if (!source) throw Error("'" + path + "': " + zip_strerror(archive.get()));
        const zip_int64_t index = zip_file_add(archive.get(), (name + ".npy").c_str(), source, ZIP_FL_ENC_UTF_8);
        if (index < 0) {
            zip_source_free(source);
            throw Error("'" + path + "': cannot add '" + name + "': " + zip_strerror(archive.get()));
        }
        // Stored, like numpy.savez: parameters barely compress, and loads stay fast.
        zip_set_file_compression(archive.get(), zip_uint64_t(index), ZIP_CM_STORE, 0);
    }
    if (zip_close(archive.get()) != 0) throw Error("'" + path + "': cannot write: " + zip_strerror(archive.get()));
    archive.release();
    // libzip writes nothing for an archive without members; numpy writes (and
    // reads) a zip that is just its end record: signature PK\5\6, then 18 zero
    // bytes (no entries, no directory, no comment).
    if (members.empty()) return std::string("PK\5\6", 4) + std::string(18, '\0');

    zip_stat_t stat;
    if (zip_source_stat(buffer, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE) || zip_source_open(buffer) != 0)
        throw Error("'" + path + "': cannot read back the archive: " + zip_error_strerror(zip_source_error(buffer)));
    std::string bytes(static_cast<std::size_t>(stat.size), '\0');
    const zip_int64_t got = zip_source_read(buffer, bytes.data(), stat.size);
    zip_source_close(buffer);
    if (got < 0 || zip_uint64_t(got) != stat.size)
        throw Error("'" + path + "': cannot read back the archive: " + zip_error_strerror(zip_source_error(buffer)));
    return bytes;
}

}  // namespace

template <class X>
std::string to_npy(const xt::xarray<X>& array) {
    return xt::dump_npy(array);
}

template <class X>
xt::xarray<X> from_npy(const std::string& bytes, const std::string& where) {
    NpyHeader header;
    try {
        header = parse_npy_header(bytes);
    } catch (const Error& e) {
        throw Error(where + ": " + e.what());
    }
    const std::string expected = xt::detail::build_typestring<X>();
    if (header.descr != expected)
        throw Error(where + ": stored with dtype '" + header.descr + "', expected '" + expected + "'");
    const std::size_t count = checked_element_count(where.c_str(), header.shape, sizeof(X));
    const std::size_t available = bytes.size() - header.data_offset;
    if (available != count * sizeof(X))
        throw Error(where + ": " + std::to_string(available) + " data bytes for shape " + shape_str(header.shape) +
                    " (" + std::to_string(count * sizeof(X)) + " expected): truncated or damaged");
    xt::xarray<X> array = xt::xarray<X>::from_shape(header.shape);
    if (header.fortran_order) {
        xt::xarray<X, xt::layout_type::column_major> column_major = xt::xarray<X, xt::layout_type::column_major>::from_shape(header.shape);
        // An empty array has no storage: memcpy must not see its null pointer.
        if (count > 0) std::memcpy(column_major.data(), bytes.data() + header.data_offset, count * sizeof(X));
        array = column_major;
    } else if (count > 0) {
        std::memcpy(array.data(), bytes.data() + header.data_offset, count * sizeof(X));
    }
    return array;
}

void write(const std::string& path, const Members& members) {
    write_file_atomically(path, zip_in_memory(members, path));
}

ReadOptions& ReadOptions::expect(const std::string& name, const std::string& dtype,
                                 const std::vector<std::size_t>& shape) {
    expected_[name] = Expected{dtype, shape};
    return *this;
}

ReadOptions& ReadOptions::others(bool allowed) {
    others_ = allowed;
    return *this;
}

ReadOptions& ReadOptions::max_other_bytes(std::size_t bytes) {
    max_other_bytes_ = bytes;
    return *this;
}

Members read(const std::string& path, const ReadOptions& options) {
    ZipHandle archive = open_zip(path);
    const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
    // Every name from the central directory first: nothing is inflated for
    // an archive that holds a member it should not.
    std::vector<zip_stat_t> entries(std::size_t(std::max<zip_int64_t>(count, 0)));
    for (zip_int64_t i = 0; i < count; ++i) {
        zip_stat_t& stat = entries[std::size_t(i)];
        if (zip_stat_index(archive.get(), zip_uint64_t(i), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE) ||
            !(stat.valid & ZIP_STAT_NAME))
            throw Error("'" + path + "': damaged entry " + std::to_string(i) + ": " + zip_strerror(archive.get()));
        const std::string name = stat.name;
        if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
            throw Error("'" + path + "': member '" + name + "' is not an .npy array");
        const std::string bare = name.substr(0, name.size() - 4);
        if (!options.others() && options.expected().count(bare) == 0)
            throw Error("'" + path + "': unexpected member '" + bare + "'");
    }
    Members members;
    std::size_t other_bytes = 0;
    for (zip_int64_t i = 0; i < count; ++i) {
        const zip_stat_t& stat = entries[std::size_t(i)];
        std::string name = stat.name;
        name.resize(name.size() - 4);
        std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen_index(archive.get(), zip_uint64_t(i), 0),
                                                                zip_fclose);
        if (!file) throw Error("'" + path + "': cannot read '" + name + "': " + zip_strerror(archive.get()));
        std::string header = check_member_header(file.get(), stat.size, path, name, options, other_bytes);
        std::string bytes = read_member(file.get(), stat.size, "'" + path + "': member '" + name + ".npy'",
                                        std::move(header));
        // Two members of one name cannot get here: libzip refuses such an
        // archive when opening it ("File already exists").
        members.emplace(std::move(name), std::move(bytes));
    }
    return members;
}

template <class X>
std::string dtype_of() {
    return xt::detail::build_typestring<X>();
}

#define TAPEGRAD_NPZ_INSTANTIATE(X)                              \
    template std::string to_npy(const xt::xarray<X>&);           \
    template xt::xarray<X> from_npy(const std::string&, const std::string&);  \
    template std::string dtype_of<X>();
TAPEGRAD_NPZ_INSTANTIATE(float)
TAPEGRAD_NPZ_INSTANTIATE(double)
TAPEGRAD_NPZ_INSTANTIATE(std::int64_t)
TAPEGRAD_NPZ_INSTANTIATE(std::uint8_t)

}  // namespace tapegrad::io::npz
