/// \file
/// Readers and writers for IDX, the format MNIST and Fashion-MNIST ship in:
/// a big-endian header (magic 0x00000803 for unsigned-byte 3-D images, 0x00000801
/// for unsigned-byte 1-D labels, then one u32 per dimension) followed by the
/// values, nothing else. Files may be raw or gzip-compressed.
///
/// Every defect (truncation, a foreign or mislabelled file, trailing bytes, bad
/// gzip, a path that is missing or not a regular file) throws tapegrad::Error
/// naming the file, what is wrong and where. Trailing bytes are refused at the
/// first one: nothing after the values is inflated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tapegrad {

/// The contents of an IDX images file: `count` greyscale images of rows x cols
/// pixels.
struct IdxImages {
    /// The number of images.
    std::size_t count = 0;
    /// The height of every image, in pixels.
    std::size_t rows = 0;
    /// The width of every image, in pixels.
    std::size_t cols = 0;
    /// Count x rows x cols bytes, row-major: image i, row r, column c is at
    /// (i * rows + r) * cols + c.
    std::vector<std::uint8_t> pixels;  // count x rows x cols, row-major
};

/// The most bytes of values (pixels or labels) a reader accepts unless its
/// caller passes more: 1 GiB. Full MNIST's training images are 47 MB; a header
/// claiming more is refused before anything is allocated, so a small .gz that
/// inflates to gigabytes (of zeros, say) costs nothing. Raise it for larger
/// data sets. The values are read as they arrive, so a header claiming more
/// than the file holds costs at most what the file holds.
inline constexpr std::size_t kIdxMaxBytes = std::size_t(1) << 30;

/// Reads an images file (magic 0x00000803), raw or gzip, of at most
/// `max_bytes` pixels. Throws tapegrad::Error naming the file, the defect and
/// where it is.
IdxImages read_idx_images(const std::string& path, std::size_t max_bytes = kIdxMaxBytes);
/// Reads a labels file (magic 0x00000801), raw or gzip: one byte per label, at
/// most `max_bytes` of them. Throws tapegrad::Error naming the file, the defect
/// and where it is.
std::vector<std::uint8_t> read_idx_labels(const std::string& path, std::size_t max_bytes = kIdxMaxBytes);

/// Writes `images` as an images file, read back by read_idx_images().
/// Written whole or not at all (io::write_file_atomically), so a reader never
/// sees a half-written file. `gzip` compresses the whole file. Throws
/// tapegrad::Error naming the file when pixels.size() is not count x rows x
/// cols, a size does not fit the u32 header, or the file cannot be written.
void write_idx_images(const std::string& path, const IdxImages& images, bool gzip = false);
/// Writes `labels` as a labels file, read back by read_idx_labels(); written
/// whole or not at all, like write_idx_images(). Throws tapegrad::Error naming
/// the file when the count does not fit the u32 header or it cannot be written.
void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels, bool gzip = false);

}  // namespace tapegrad
