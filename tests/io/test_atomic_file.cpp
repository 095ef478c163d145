// io::write_file_atomically, the one writer every tapegrad file goes through.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include "../common/scratch_device.hpp"
#include "../nn/files.hpp"
#include "../common/error_of.hpp"

using tapegrad::Error;
using tapegrad::io::check_writable;
using tapegrad::io::set_before_rename_hook;
using tapegrad::io::write_file_atomically;
using tapegrad::testing::scratch_device;

using tapegrad::testing::error_of;

namespace {
}  // namespace

TEST_CASE("io: a file is written whole, replaces the old one, and no temporary stays behind") {
    TempDir dir;
    const std::string path = dir.file("out.csv");
    write_file_atomically(path, "first\n");
    CHECK(read_bytes(path) == "first\n");
    const std::string binary("a\0b\xff", 4);
    write_file_atomically(path, binary);
    CHECK(read_bytes(path) == binary);
    write_file_atomically(path, "");
    CHECK(read_bytes(path).empty());
    CHECK(dir.entries() == 1);
}

TEST_CASE("io: a new file gets 0666 less the umask, like any new file") {
    TempDir dir;
    const mode_t saved = ::umask(022);
    write_file_atomically(dir.file("shared"), "x");
    ::umask(077);
    write_file_atomically(dir.file("private"), "x");
    ::umask(saved);
    struct stat shared {}, private_ {};
    REQUIRE(::stat(dir.file("shared").c_str(), &shared) == 0);
    REQUIRE(::stat(dir.file("private").c_str(), &private_) == 0);
    CHECK((shared.st_mode & 0777) == 0644);
    CHECK((private_.st_mode & 0777) == 0600);
}

TEST_CASE("io: failures name the path and the system's reason, and leave nothing behind") {
    TempDir dir;
    const std::string missing = dir.file("no/such/dir/out.csv");
    const std::string message = error_of([&] { write_file_atomically(missing, "x"); });
    CHECK(message.find(missing) != std::string::npos);
    CHECK(message.find("No such file or directory") != std::string::npos);
    CHECK(dir.entries() == 0);
}

TEST_CASE("io: a symbolic link is followed: the file it names is replaced, the link stays") {
    TempDir dir;
    std::filesystem::create_directories(dir.file("real"));
    const std::string victim = dir.file("real/weights.npz"), link = dir.file("link");
    write_file_atomically(victim, "old");
    REQUIRE(::symlink("real/weights.npz", link.c_str()) == 0);  // relative, as `ln -s` makes them
    static std::string temporary;
    set_before_rename_hook([](const std::string& temp) { temporary = temp; });
    write_file_atomically(link, "new");
    set_before_rename_hook(nullptr);
    CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(link)));
    CHECK(read_bytes(victim) == "new");
    // The temporary was made beside the real file, so the rename stays on its filesystem.
    CHECK(std::filesystem::path(temporary).parent_path() == std::filesystem::canonical(dir.file("real")));
    CHECK(dir.entries() == 2);
}

TEST_CASE("io: a temporary file is named .NAME.tmp.XXXXXX and a failure removes it") {
    TempDir dir;
    const std::string path = dir.file("metrics.csv");
    static std::string seen;
    set_before_rename_hook([](const std::string& temp) {
        seen = temp;
        throw Error("simulated failure after the temporary was written");
    });
    CHECK_THROWS_AS(write_file_atomically(path, "data"), Error);
    set_before_rename_hook(nullptr);
    const std::string name = std::filesystem::path(seen).filename().string();
    CHECK(name.rfind(".metrics.csv.tmp.", 0) == 0);
    CHECK(name.size() == std::string(".metrics.csv.tmp.").size() + 6);
    CHECK(dir.entries() == 0);
}

TEST_CASE("io: what is not a regular file is never replaced: refused, or written through") {
    TempDir dir;
    // A directory, even an empty one, and a socket: refused before anything is created.
    std::filesystem::create_directories(dir.file("taken"));
    CHECK(error_of([&] { write_file_atomically(dir.file("taken"), "x"); }).find("is a directory") != std::string::npos);
    CHECK(std::filesystem::is_directory(dir.file("taken")));
    const std::string socket_path = dir.file("sock");
    const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(sock >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(socket_path.size() < sizeof address.sun_path);
    std::strcpy(address.sun_path, socket_path.c_str());
    REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    CHECK(error_of([&] { write_file_atomically(socket_path, "x"); }).find("is a socket") != std::string::npos);
    CHECK(std::filesystem::is_socket(socket_path));
    ::close(sock);
    CHECK(dir.entries() == 2);

    // A link to nothing, and a loop of links: refused, the links stay.
    const std::string dangling = dir.file("dangling"), loop = dir.file("loop");
    REQUIRE(::symlink("nowhere", dangling.c_str()) == 0);
    REQUIRE(::symlink("loop", loop.c_str()) == 0);
    CHECK(error_of([&] { write_file_atomically(dangling, "x"); }).find("symbolic link to nothing") != std::string::npos);
    CHECK(error_of([&] { write_file_atomically(loop, "x"); }).find(std::strerror(ELOOP)) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("nowhere")));
    CHECK(dir.entries() == 4);
}

TEST_CASE("io: /dev/null stays a device, /dev/full reports the full disk, a link to a device is written through") {
    TempDir dir, devices;
    // Copies of the devices (mknod) in a directory of their own: a
    // regression replaces those, never the machine's.
    const std::string null_device = scratch_device(devices, "null"), full_device = scratch_device(devices, "full");
    write_file_atomically(null_device, "discarded");
    struct stat info {};
    REQUIRE(::stat(null_device.c_str(), &info) == 0);
    CHECK(S_ISCHR(info.st_mode));

    const std::string full = error_of([&] { write_file_atomically(full_device, "x"); });
    CHECK(full.find(full_device) != std::string::npos);
    CHECK(full.find(std::strerror(ENOSPC)) != std::string::npos);
    REQUIRE(::stat(full_device.c_str(), &info) == 0);
    CHECK(S_ISCHR(info.st_mode));

    // As /dev/stdout is a link to the terminal or pipe: the link stays, nothing is created beside it.
    const std::string link = dir.file("out");
    REQUIRE(::symlink(null_device.c_str(), link.c_str()) == 0);
    write_file_atomically(link, "discarded");
    CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(link)));
    REQUIRE(::stat(null_device.c_str(), &info) == 0);
    CHECK(S_ISCHR(info.st_mode));
    CHECK(dir.entries() == 1);
}

TEST_CASE("io: /dev/stdout redirected to a file is written at the stream's offset, the file kept") {
    TempDir dir;
    const std::string log = dir.file("log.txt");
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    struct stat before {};
    REQUIRE(::fstat(fd, &before) == 0);
    REQUIRE(::write(fd, "before\n", 7) == 7);
    // As `mnist --metrics /dev/stdout > log.txt`: /dev/stdout is a link to
    // /proc/self/fd/1; here a link to this test's own descriptor.
    const std::string link = dir.file("stdout");
    REQUIRE(::symlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link.c_str()) == 0);
    write_file_atomically(link, "csv\n");
    write_file_atomically("/dev/fd/" + std::to_string(fd), "more\n");
    REQUIRE(::write(fd, "after\n", 6) == 6);
    ::close(fd);
    CHECK(read_bytes(log) == "before\ncsv\nmore\nafter\n");
    struct stat after {};
    REQUIRE(::stat(log.c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);  // the same file, not a replacement
    CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(link)));
    CHECK(dir.entries() == 2);
}

TEST_CASE("io: a FIFO is written through to its reader, and one without a reader is refused, not waited on") {
    TempDir dir;
    const std::string fifo = dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Without a reader: an error at once (O_NONBLOCK open), the FIFO stays.
    CHECK(error_of([&] { write_file_atomically(fifo, "x"); }).find("nobody is reading") != std::string::npos);

    // With a reader: the reader gets the bytes, in place.
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    write_file_atomically(fifo, "through the pipe");
    char buffer[64] = {};
    const ssize_t got = ::read(reader, buffer, sizeof buffer);
    ::close(reader);
    CHECK(std::string(buffer, got > 0 ? std::size_t(got) : 0) == "through the pipe");
    struct stat info {};
    REQUIRE(::lstat(fifo.c_str(), &info) == 0);
    CHECK(S_ISFIFO(info.st_mode));
    CHECK(dir.entries() == 1);
}

TEST_CASE("io: paths the system refuses are a tapegrad::Error naming the path and the reason") {
    TempDir dir;
    write_file_atomically(dir.file("plain"), "x");
    // A regular file used as a directory.
    const std::string not_directory = dir.file("plain/out.csv");
    const std::string message = error_of([&] { write_file_atomically(not_directory, "x"); });
    CHECK(message.find(not_directory) != std::string::npos);
    CHECK(message.find(std::strerror(ENOTDIR)) != std::string::npos);
    CHECK(error_of([&] { check_writable(not_directory); }).find(std::strerror(ENOTDIR)) != std::string::npos);
    // Inside a loop of links.
    REQUIRE(::symlink("loop", dir.file("loop").c_str()) == 0);
    const std::string in_loop = dir.file("loop/out.csv");
    CHECK(error_of([&] { write_file_atomically(in_loop, "x"); }).find(std::strerror(ELOOP)) != std::string::npos);
    CHECK(error_of([&] { check_writable(in_loop); }).find(std::strerror(ELOOP)) != std::string::npos);
    // Longer than PATH_MAX (4,200 characters).
    std::string long_path = dir.file("");
    while (long_path.size() < 4200) long_path += "d/";
    long_path += "out.csv";
    CHECK(error_of([&] { write_file_atomically(long_path, "x"); }).find(std::strerror(ENAMETOOLONG)) != std::string::npos);
    CHECK(error_of([&] { check_writable(long_path); }).find(std::strerror(ENAMETOOLONG)) != std::string::npos);
    // A directory without search permission is not enforced for root, so it
    // is tested only when the test does not run as root.
    if (::geteuid() != 0) {
        std::filesystem::create_directories(dir.file("closed"));
        REQUIRE(::chmod(dir.file("closed").c_str(), 0600) == 0);
        CHECK(error_of([&] { write_file_atomically(dir.file("closed/out.csv"), "x"); }).find(std::strerror(EACCES)) !=
              std::string::npos);
        ::chmod(dir.file("closed").c_str(), 0700);
    }
    // A good path passes the check, and the check writes nothing.
    check_writable(dir.file("new.csv"));
    CHECK(error_of([&] { check_writable(dir.file("")); }).find("is a directory") != std::string::npos);
    CHECK(dir.entries() == 2);  // plain, loop
}

TEST_CASE("io: a crash before the rename leaves the previous file, a failure removes the temporary") {
    TempDir dir;
    const std::string path = dir.file("metrics.csv");
    write_file_atomically(path, "old");

    // In a child process: the hook ends the process just before the rename,
    // as a crash (kill -9, power loss) would. The finished temporary is on
    // disk then; the old file is untouched.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        set_before_rename_hook([](const std::string& temp) { _exit(read_bytes(temp) == "new" ? 42 : 43); });
        write_file_atomically(path, "new");
        _exit(0);  // not reached when the hook runs
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 42));
    CHECK(read_bytes(path) == "old");

    // In process: a hook that throws makes the write fail and removes the temporary.
    TempDir clean;
    const std::string clean_path = clean.file("metrics.csv");
    write_file_atomically(clean_path, "old");
    set_before_rename_hook([](const std::string&) { throw Error("simulated crash"); });
    CHECK_THROWS_AS(write_file_atomically(clean_path, "new"), Error);
    set_before_rename_hook(nullptr);
    CHECK(clean.entries() == 1);
    CHECK(read_bytes(clean_path) == "old");
}
