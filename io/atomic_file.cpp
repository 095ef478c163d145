#include <tapegrad/io/atomic_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>

#include <tapegrad/autograd/error.hpp>

namespace tapegrad::io {

namespace {

std::atomic<BeforeRenameHook> before_rename_hook{nullptr};

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
    throw Error("'" + path + "': " + what + ": " + std::strerror(error));
}

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
    throw Error("'" + path + "': " + what);
}

// The directory holding `path`, for the temporary file and the final fsync.
std::string directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The descriptor of this process that following the links from `path` leads
// to (/dev/stdout -> /proc/self/fd/1, /dev/fd/N, /proc/PID/fd/N), or -1.
int open_descriptor_named(const std::string& path) {
    const std::string self = "/proc/" + std::to_string(::getpid()) + "/fd/";
    std::string hop = path;
    for (int depth = 0; depth < 40; ++depth) {
        for (const std::string& prefix : {std::string("/proc/self/fd/"), std::string("/dev/fd/"), self})
            if (hop.rfind(prefix, 0) == 0 && hop.size() > prefix.size() &&
                hop.find_first_not_of("0123456789", prefix.size()) == std::string::npos &&
                hop.size() - prefix.size() < 9)
                return std::stoi(hop.substr(prefix.size()));
        char target[PATH_MAX];
        const ssize_t length = ::readlink(hop.c_str(), target, sizeof target - 1);
        if (length <= 0) return -1;
        target[length] = '\0';
        hop = target[0] == '/' ? std::string(target) : directory_of(hop) + "/" + target;
    }
    return -1;
}

// How a path is written, decided by what is there now.
struct Target {
    bool write_through = false;  // a device, a FIFO or an open file, written in place
    int descriptor = -1;         // an open regular file of this process, written at its offset
    std::string file;            // the regular file to replace (a link's target), or `path` itself
};

Target resolve(const std::string& path) {
    if (path.empty()) refuse(path, "an empty path cannot be written");
    struct stat link {};
    if (::lstat(path.c_str(), &link) != 0) {
        // Nothing there yet is the ordinary case; its directory is checked
        // when the temporary file is created in it.
        if (errno == ENOENT) return {false, -1, path};
        fail(path, "cannot write", errno);
    }
    struct stat target = link;
    if (S_ISLNK(link.st_mode) && ::stat(path.c_str(), &target) != 0) {
        if (errno == ENOENT) refuse(path, "is a symbolic link to nothing; write to the file it should name instead");
        fail(path, "cannot follow the symbolic link", errno);
    }
    // /dev/stdout, /dev/fd/N, /proc/self/fd/N name a file this process has
    // open (`--metrics /dev/stdout > log`, or `| tee`): replacing it would cut
    // off what was and will be written there, so the bytes go to that
    // descriptor, at its offset, as if the program had printed them.
    if (S_ISLNK(link.st_mode) && (S_ISREG(target.st_mode) || S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode))) {
        const int descriptor = open_descriptor_named(path);
        if (descriptor >= 0) return {true, descriptor, path};
    }
    if (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode)) return {true, -1, path};
    if (!S_ISREG(target.st_mode))
        refuse(path, std::string("is ") + file_type_name(target.st_mode) + ", not a file tapegrad can write");
    if (!S_ISLNK(link.st_mode)) return {false, -1, path};
    // Replace the file the link names, beside it, so the link stays.
    std::unique_ptr<char, void (*)(void*)> real(::realpath(path.c_str(), nullptr), std::free);
    if (!real) fail(path, "cannot resolve the symbolic link", errno);
    return {false, -1, real.get()};
}

// A fresh file beside `file`, named ".NAME.tmp.XXXXXX" so a leftover one is
// recognisable. O_EXCL: never reuse (or follow a link planted at) a name
// another writer or another user chose; a clash tries another name.
int create_temporary(const std::string& path, const std::string& file, std::string& temp_path) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    thread_local std::mt19937_64 random{std::random_device{}() ^ (std::uint64_t(::getpid()) << 32)};
    std::string directory = directory_of(file);
    // NAME_MAX bounds one path component: a long name is shortened in the
    // temporary's name only.
    const std::string name = file_name_of(file).substr(0, NAME_MAX - 20);
    for (int attempt = 0;; ++attempt) {
        std::string suffix(6, 'x');
        for (char& c : suffix) c = alphabet[random() % (sizeof alphabet - 1)];
        temp_path = (directory == "." && file.find('/') == std::string::npos ? "" : directory + "/") + "." + name +
                    ".tmp." + suffix;
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
void sync_directory(const std::string& path, const std::string& file) {
    const std::string directory = directory_of(file);
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(path, "written, but cannot open its directory '" + directory + "' to flush it", errno);
    const int error = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
    ::close(fd);
    if (error != 0) fail(path, "written, but flushing its directory '" + directory + "' failed", error);
}

// A device or FIFO: opened without O_CREAT (nothing can be created in its
// place) and written like a shell redirection would. O_NONBLOCK only for the
// open, so a FIFO nobody reads fails (ENXIO) instead of hanging.
// One of this process's open files: written through its descriptor, after
// stdio's buffers, so the order is the order the program wrote in.
void write_to_descriptor(const std::string& path, int descriptor, std::string_view bytes) {
    std::fflush(nullptr);
    const int error = write_all(descriptor, bytes);
    if (error != 0) fail(path, "cannot write (open file descriptor " + std::to_string(descriptor) + ")", error);
}

void write_through(const std::string& path, std::string_view bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO) refuse(path, "is a FIFO that nobody is reading");
        fail(path, "cannot open for writing", errno);
    }
    struct stat opened {};
    int error = ::fstat(fd, &opened) == 0 ? 0 : errno;
    if (error == 0 && !S_ISCHR(opened.st_mode) && !S_ISFIFO(opened.st_mode)) {
        ::close(fd);
        refuse(path, "changed while being opened (now " + std::string(file_type_name(opened.st_mode)) + ")");
    }
    if (error == 0 && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) error = errno;
    if (error == 0) error = write_all(fd, bytes);
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error != 0) fail(path, std::string("cannot write (") + file_type_name(opened.st_mode) + ")", error);
}

}  // namespace

void check_writable(const std::string& path) {
    const Target target = resolve(path);
    if (target.write_through) return;
    const std::string directory = directory_of(target.file);
    struct stat info {};
    if (::stat(directory.c_str(), &info) != 0) fail(path, "cannot write into '" + directory + "'", errno);
    if (!S_ISDIR(info.st_mode)) fail(path, "cannot write into '" + directory + "'", ENOTDIR);
    if (::access(directory.c_str(), W_OK | X_OK) != 0) fail(path, "cannot write into '" + directory + "'", errno);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
    const Target target = resolve(path);
    if (target.descriptor >= 0) return write_to_descriptor(path, target.descriptor, bytes);
    if (target.write_through) return write_through(path, bytes);
    std::string temp_path;
    const int fd = create_temporary(path, target.file, temp_path);
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
        if (std::rename(temp_path.c_str(), target.file.c_str()) != 0)
            fail(path, "cannot replace it with '" + temp_path + "'", errno);
    } catch (...) {
        std::remove(temp_path.c_str());
        throw;
    }
    sync_directory(path, target.file);
}

const char* file_type_name(unsigned mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

void set_before_rename_hook(BeforeRenameHook hook) { before_rename_hook.store(hook); }

}  // namespace tapegrad::io
