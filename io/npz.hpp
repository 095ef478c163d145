/// \file
/// Numpy .npz archives: a zip of "<name>.npy" members, as numpy.savez writes.
/// The .npy encoding is xtensor's (xt::dump_npy, and xnpy's header parser);
/// the zip is libzip's. Writes go through io::write_file_atomically: a crash
/// mid-save leaves the previous file intact.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/config.hpp>  // first: it checks the flags that xtensor's types depend on
#include <xtensor/xarray.hpp>

/// Reading and writing numpy .npz archives (see npz.hpp).
namespace tapegrad::io::npz {

/// Member name (without ".npy") -> the member's .npy bytes.
using Members = std::map<std::string, std::string>;

/// The .npy bytes of `array`, as xt::dump_npy writes them.
template <class X>
std::string to_npy(const xt::xarray<X>& array);

/// Decodes one member; throws tapegrad::Error naming `where` (file and member)
/// if the bytes are truncated, malformed or of another dtype than X. A
/// Fortran-ordered (column-major) member is read with the same values at the
/// same indices as numpy.load gives.
template <class X>
xt::xarray<X> from_npy(const std::string& bytes, const std::string& where);

/// Builds the archive in memory, then io::write_file_atomically; throws
/// tapegrad::Error naming `path` if that fails.
void write(const std::string& path, const Members& members);

/// The dtype string of X in an .npy header: '<f4', '<f8', '<i8', '|u1'.
template <class X>
std::string dtype_of();

/// The most bytes read() inflates, by default, for the members no expect()
/// names, together: 1 GiB. Members named by expect() are bounded by the
/// shape the caller gave.
inline constexpr std::size_t kMaxOtherBytes = std::size_t(1) << 30;

/// What read() will accept, so that it can refuse a member from its .npy
/// header before inflating any of its data (a few MB of deflated zeros can
/// claim gigabytes).
class ReadOptions {
public:
    /// Member `name` (without ".npy") must have dtype `dtype` and exactly `shape`.
    ReadOptions& expect(const std::string& name, const std::string& dtype, const std::vector<std::size_t>& shape);
    /// Whether members that no expect() names are read at all (default: yes).
    ReadOptions& others(bool allowed);
    /// The most bytes those other members may hold together (default kMaxOtherBytes).
    ReadOptions& max_other_bytes(std::size_t bytes);

    /// What expect() asked of one member.
    struct Expected {
        std::string dtype;               ///< the .npy dtype string, e.g. '<f4'
        std::vector<std::size_t> shape;  ///< the exact shape
    };
    /// The members expect() named, by name (without ".npy").
    const std::map<std::string, Expected>& expected() const { return expected_; }
    /// Whether members no expect() names are read.
    bool others() const { return others_; }
    /// The most bytes those other members may hold together.
    std::size_t max_other_bytes() const { return max_other_bytes_; }

private:
    std::map<std::string, Expected> expected_;
    bool others_ = true;
    std::size_t max_other_bytes_ = kMaxOtherBytes;
};

/// Every member is checked before its data is inflated: a name ending in
/// ".npy", a well-formed .npy header (at most 64 KiB, versions 1 to 3) of a
/// dtype tapegrad reads, whose shape times the dtype's size is exactly the
/// size the zip entry declares, and what `options` expect. The data is then
/// read as it arrives and must come to exactly that size (the CRC is checked).
/// Throws tapegrad::Error naming `path` and the member otherwise, or if the
/// file is missing, not a zip, or damaged.
Members read(const std::string& path, const ReadOptions& options = ReadOptions());

}  // namespace tapegrad::io::npz
