// io::write_file_atomically, the one writer every tapegrad file goes through.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include "../nn/files.hpp"

using tapegrad::Error;
using tapegrad::io::set_before_rename_hook;
using tapegrad::io::write_file_atomically;

namespace {
std::string error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
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

    // The rename fails (a non-empty directory is in the way), after the
    // temporary file was written: it is removed again.
    std::filesystem::create_directories(dir.file("taken/inside"));
    const std::string taken = dir.file("taken");
    const std::string rename_message = error_of([&] { write_file_atomically(taken, "x"); });
    CHECK(rename_message.find(taken) != std::string::npos);
    CHECK(rename_message.find("cannot replace") != std::string::npos);
    CHECK(dir.entries() == 1);  // just "taken"
}

TEST_CASE("io: a symbolic link at the path is replaced, never written through") {
    TempDir dir;
    const std::string victim = dir.file("victim"), link = dir.file("link");
    write_file_atomically(victim, "keep me");
    REQUIRE(::symlink(victim.c_str(), link.c_str()) == 0);
    write_file_atomically(link, "new");
    CHECK(read_bytes(victim) == "keep me");
    CHECK(std::filesystem::is_regular_file(std::filesystem::symlink_status(link)));
    CHECK(read_bytes(link) == "new");
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
