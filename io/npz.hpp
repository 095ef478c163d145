/// \file
/// Numpy .npz archives: a zip of "<name>.npy" members, as numpy.savez writes.
/// The .npy encoding is xtensor's (xt::dump_npy, and xnpy's header parser);
/// the zip is libzip's. Writes go through io::write_file_atomically: a crash
/// mid-save leaves the previous file intact.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <xtensor/xarray.hpp>

/// Reading and writing numpy .npz archives (see npz.hpp).
namespace tapegrad::io::npz {

/// Member name (without ".npy") -> the member's .npy bytes.
using Members = std::map<std::string, std::string>;

/// The .npy bytes of `array`, as xt::dump_npy writes them.
template <class X>
std::string to_npy(const xt::xarray<X>& array);

/// Decodes one member; throws tapegrad::Error naming `where` (file and member)
/// if the bytes are truncated, malformed or of another dtype than X.
template <class X>
xt::xarray<X> from_npy(const std::string& bytes, const std::string& where);

/// Builds the archive in memory, then io::write_file_atomically; throws
/// tapegrad::Error naming `path` if that fails.
void write(const std::string& path, const Members& members);
/// Every member of the archive at `path`.
/// Throws tapegrad::Error naming `path` if it is missing, not a zip, or damaged.
Members read(const std::string& path);

}  // namespace tapegrad::io::npz
