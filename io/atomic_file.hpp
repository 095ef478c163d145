/// \file
/// The one way tapegrad writes a file: whole or not at all. A reader, a crash
/// or a power cut never leaves a half-written file behind, and the previous
/// file stays intact until the new one is complete on disk.
#pragma once

#include <string>
#include <string_view>

/// Files, for the layers above: reading them (open_regular_file, ByteSource),
/// npz archives, and atomic writes.
namespace tapegrad::io {

/// What is at `path` decides how it is written; nothing but a regular file is
/// ever replaced:
/// - nothing, or a regular file: the bytes go to a new temporary file in
///   `path`'s directory, named ".NAME.tmp.XXXXXX" (created with
///   O_CREAT|O_EXCL|O_NOFOLLOW, permissions 0666 less the umask, as any new
///   file), which is fsynced, renamed over `path`, then the directory is
///   fsynced so the rename itself survives a power cut. A process killed
///   between creating and renaming it (SIGKILL, power loss) leaves that
///   temporary behind; any error removes it.
/// - a symbolic link: followed to the file it names (every level), which is
///   then written as above, beside the real file: the link stays a link. A
///   link to nothing (dangling) or a loop is refused.
/// - a character device or a FIFO (/dev/null, /dev/stdout on a terminal or a
///   pipe, a named pipe): written through, in place, as a shell redirection
///   would; a write error (ENOSPC from /dev/full, EPIPE) is reported. A FIFO
///   without a reader is refused rather than waited for.
/// - a link through /proc/self/fd/N or /dev/fd/N to a file, device or pipe
///   this process has open (/dev/stdout, redirected to a file or not):
///   written to descriptor N, after flushing stdio, as if printed there, so
///   what was and will be written to that stream stays in order. Not atomic.
/// - a directory, a block device or a socket: refused.
/// Every failure throws tapegrad::Error naming `path` and the system's reason
/// (errno text), and leaves whatever was at `path` as it was.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Throws the tapegrad::Error write_file_atomically(path, ...) would throw for
/// what is at `path` now (a directory, a dangling link, a missing or
/// unsearchable directory, a name too long, ...), without writing anything:
/// lets a program refuse a bad output path before hours of work. Whether the
/// disk has room, or a FIFO a reader, shows only when writing.
void check_writable(const std::string& path);

/// "a directory", "a FIFO", "a socket", ... for a stat st_mode that is not a
/// regular file: how messages about a path say what is there.
const char* file_type_name(unsigned mode);

/// Test hook: called with the finished, fsynced temporary file just before the
/// rename, so a test can simulate a crash there (throw, or _exit in a child
/// process). nullptr (the default) means no hook.
using BeforeRenameHook = void (*)(const std::string& temp_path);
/// Installs `hook` (see BeforeRenameHook) for every later write, on every
/// thread; nullptr removes it. For tests only.
void set_before_rename_hook(BeforeRenameHook hook);

}  // namespace tapegrad::io
