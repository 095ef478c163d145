#include <tapegrad/io/atomic_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::io {

namespace {

std::atomic<BeforeRenameHook> before_rename_hook{nullptr};

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
    throw Error("'" + path + "': " + what + ": " + std::strerror(error));
}

// The directory holding `path`, for the temporary file and the final fsync.
std::string directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// A fresh file beside `path`. O_EXCL: never reuse (or follow a link planted
// at) a name another writer or another user chose; a clash tries the next name.
int create_temporary(const std::string& path, std::string& temp_path) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0;; ++attempt) {
        temp_path = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST || attempt == 100) fail(path, "cannot create '" + temp_path + "'", errno);
    }
}

// 0 or the errno of the first failing write.
int write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

// Makes the rename durable. Some filesystems cannot fsync a directory
// (EINVAL); there the rename is as durable as the filesystem allows.
void sync_directory(const std::string& path) {
    const std::string directory = directory_of(path);
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(path, "written, but cannot open its directory '" + directory + "' to flush it", errno);
    const int error = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
    ::close(fd);
    if (error != 0) fail(path, "written, but flushing its directory '" + directory + "' failed", error);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
    std::string temp_path;
    const int fd = create_temporary(path, temp_path);
    try {
        int error = write_all(fd, bytes);
        if (error != 0) {
            ::close(fd);
            fail(path, "cannot write '" + temp_path + "'", error);
        }
        error = ::fsync(fd) == 0 ? 0 : errno;
        if (::close(fd) != 0 && error == 0) error = errno;
        if (error != 0) fail(path, "cannot flush '" + temp_path + "' to disk", error);
        if (BeforeRenameHook hook = before_rename_hook.load()) hook(temp_path);
        if (std::rename(temp_path.c_str(), path.c_str()) != 0)
            fail(path, "cannot replace it with '" + temp_path + "'", errno);
    } catch (...) {
        std::remove(temp_path.c_str());
        throw;
    }
    sync_directory(path);
}

void set_before_rename_hook(BeforeRenameHook hook) { before_rename_hook.store(hook); }

}  // namespace tapegrad::io
