/// \file
/// The one way tapegrad writes a file: whole or not at all. A reader, a crash
/// or a power cut never leaves a half-written file behind, and the previous
/// file stays intact until the new one is complete on disk.
#pragma once

#include <string>
#include <string_view>

/// File formats and file writing shared by the layers above: npz archives
/// and atomic writes.
namespace tapegrad::io {

/// Writes `bytes` to a new temporary file in `path`'s directory (created with
/// O_CREAT|O_EXCL|O_NOFOLLOW, permissions 0666 less the umask, as any new
/// file), fsyncs it, renames it over `path`, then fsyncs the directory so the
/// rename itself survives a power cut. On any failure the temporary file is
/// removed, `path` is untouched, and tapegrad::Error names `path` and the
/// system's reason (errno text).
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Test hook: called with the finished, fsynced temporary file just before the
/// rename, so a test can simulate a crash there (throw, or _exit in a child
/// process). nullptr (the default) means no hook.
using BeforeRenameHook = void (*)(const std::string& temp_path);
/// Installs `hook` (see BeforeRenameHook) for every later write, on every
/// thread; nullptr removes it. For tests only.
void set_before_rename_hook(BeforeRenameHook hook);

}  // namespace tapegrad::io
