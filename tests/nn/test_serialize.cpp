#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/serialize.hpp>
#include "files.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
namespace npz = tapegrad::io::npz;

namespace {
// Expects tapegrad::Error mentioning every one of `words`, and `net` unchanged.
template <class T>
void expect_load_error(Module<T>& net, const std::string& path, const std::vector<std::string>& words) {
    const StateDict<T> before = net.state_dict();
    try {
        load(net, path);
        FAIL("load accepted " << path);
    } catch (const Error& e) {
        for (const auto& word : words) {
            const std::string message = e.what();
            INFO("message: " << message);
            CHECK(message.find(word) != std::string::npos);
        }
    }
    CHECK(net.state_dict() == before);
}

bool numpy_available() {
    return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}
}  // namespace

TEST_CASE_TEMPLATE("save then load restores every parameter exactly", T, float, double) {
    TempDir dir;
    auto net = make_mlp<T>(MLPOptions({6, 5, 3}, "tanh").init(Init::XavierNormal).seed(1));
    save(*net, dir.file("net.npz"));
    auto other = make_mlp<T>(MLPOptions({6, 5, 3}, "tanh").init(Init::XavierNormal).seed(2));
    REQUIRE(other->state_dict() != net->state_dict());
    load(*other, dir.file("net.npz"));
    CHECK(other->state_dict() == net->state_dict());
    CHECK(dir.entries() == 1);  // no temporary left behind
}

TEST_CASE("numpy.load reads the names, shapes, dtypes and values we wrote") {
    if (!numpy_available()) {
        MESSAGE("skipped: /usr/bin/python3 with numpy is not available");
        return;
    }
    TempDir dir;
    auto net = make_mlp<float>(MLPOptions({4, 3, 2}, "relu").init(Init::StandardNormal).seed(3));
    net->parameters()[0].data_mut() = xt::xarray<float>{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12.5f}};
    const std::string path = dir.file("net.npz");
    save(*net, path);
    const auto& bias = net->parameters()[3].data();
    // The script exits 0 only if every expectation holds.
    const std::string script =
        "import numpy as np, sys\n"
        "z = np.load(sys.argv[1])\n"
        "assert sorted(z.files) == ['0.bias', '0.weight', '2.bias', '2.weight'], z.files\n"
        "w = z['0.weight']\n"
        "assert w.dtype == np.float32 and w.shape == (3, 4), (w.dtype, w.shape)\n"
        "assert (w == np.arange(1, 13, dtype=np.float32).reshape(3, 4) + np.array([0]*11 + [0.5], np.float32).reshape(3, 4)).all()\n"
        "assert z['2.weight'].shape == (2, 3) and z['2.bias'].shape == (2,)\n"
        "assert (z['2.bias'] == np.array([float(sys.argv[2]), float(sys.argv[3])], np.float32)).all(), z['2.bias']\n";
    const std::string script_path = dir.file("check.py");
    std::ofstream(script_path) << script;
    char b0[64], b1[64];
    std::snprintf(b0, sizeof b0, "%.9g", double(bias(0)));
    std::snprintf(b1, sizeof b1, "%.9g", double(bias(1)));
    const std::string command = "/usr/bin/python3 " + script_path + " " + path + " " + b0 + " " + b1;
    CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("we read what numpy.savez wrote") {
    if (!numpy_available()) {
        MESSAGE("skipped: /usr/bin/python3 with numpy is not available");
        return;
    }
    TempDir dir;
    const std::string path = dir.file("from_numpy.npz");
    const std::string command = "/usr/bin/python3 -c \"import numpy as np; np.savez('" + path +
                                "', weight=np.arange(6.0).reshape(3, 2), bias=np.array([0.5, -1.0, 2.0]))\"";
    REQUIRE(std::system(command.c_str()) == 0);
    Linear<double> layer(2, 3);
    load(layer, path);
    CHECK(layer.weight().data() == xt::xarray<double>{{0, 1}, {2, 3}, {4, 5}});
    CHECK(layer.bias().data() == xt::xarray<double>{0.5, -1.0, 2.0});
}

TEST_CASE("missing, extra, misshapen or wrongly typed parameters name the file and the parameter") {
    TempDir dir;
    auto net = make_mlp<double>(MLPOptions({4, 3, 2}, "sigmoid").init(Init::PyTorchDefault).seed(1));
    const std::string small = dir.file("small.npz"), wide = dir.file("wide.npz"), deep = dir.file("deep.npz");
    save(*make_mlp<double>({4, 3}, "sigmoid"), small);
    save(*make_mlp<double>({4, 5, 2}, "sigmoid"), wide);
    save(*make_mlp<double>({4, 3, 2, 2}, "sigmoid"), deep);
    expect_load_error(*net, small, {small, "missing", "'2.weight'"});
    // Members are checked in the archive's order, from their headers: '0.bias' comes first.
    expect_load_error(*net, wide, {wide, "'0.bias'", "(5,)", "expected (3,)"});
    expect_load_error(*net, deep, {deep, "unexpected", "'4."});
    auto float_net = make_mlp<float>({4, 3, 2}, "sigmoid");
    expect_load_error(*float_net, dir.file("wide.npz"), {wide, "'0.bias'", "<f8"});
    expect_load_error(*net, dir.file("absent.npz"), {"absent.npz"});
}

TEST_CASE("truncated files and files that are not npz are refused, the module unchanged") {
    TempDir dir;
    auto net = make_mlp<double>(MLPOptions({8, 6, 2}, "tanh").init(Init::XavierUniform).seed(1));
    const std::string good = dir.file("good.npz");
    save(*net, good);
    const std::string bytes = read_bytes(good);
    auto target = make_mlp<double>(MLPOptions({8, 6, 2}, "tanh").init(Init::XavierUniform).seed(2));
    for (std::size_t keep : {std::size_t(0), std::size_t(10), bytes.size() / 2, bytes.size() - 1}) {
        CAPTURE(keep);
        const std::string cut = dir.file("cut.npz");
        write_bytes(cut, bytes.substr(0, keep));
        expect_load_error(*target, cut, {cut});
    }
    const std::string text = dir.file("notes.npz");
    write_bytes(text, "this is not a zip archive at all, just text\n");
    expect_load_error(*target, text, {text});
}

TEST_CASE("a damaged member is caught by its CRC or its npy header") {
    TempDir dir;
    auto net = make_mlp<double>(MLPOptions({8, 6, 2}, "tanh").init(Init::XavierUniform).seed(1));
    const std::string path = dir.file("net.npz");
    save(*net, path);
    std::string bytes = read_bytes(path);
    // Flip a byte inside the first member's data (after its 30-byte local
    // header, its name and the 128-byte npy header).
    bytes[200] = char(bytes[200] ^ 0x5a);
    write_bytes(path, bytes);
    auto target = make_mlp<double>(MLPOptions({8, 6, 2}, "tanh").init(Init::XavierUniform).seed(2));
    expect_load_error(*target, path, {path});
}

TEST_CASE("npy members that are malformed or short inside a sound zip are refused") {
    TempDir dir;
    Linear<double> layer(2, 3);
    const std::string weight = npz::to_npy(xt::xarray<double>(xt::zeros<double>({3, 2})));
    const std::string bias = npz::to_npy(xt::xarray<double>(xt::zeros<double>({3})));
    const std::string path = dir.file("bad.npz");
    npz::write(path, {{"weight", weight}, {"bias", "not an npy array"}});
    expect_load_error(layer, path, {path, "'bias'", "not an .npy"});
    npz::write(path, {{"weight", weight.substr(0, weight.size() - 8)}, {"bias", bias}});
    expect_load_error(layer, path, {path, "'weight'", "truncated"});
    npz::write(path, {{"weight", weight + "extra"}, {"bias", bias}});
    expect_load_error(layer, path, {path, "'weight'"});
    npz::write(path, {{"weight", weight}, {"bias", bias}});
    load(layer, path);
    CHECK(layer.weight().data() == xt::zeros<double>({3, 2}));
}

TEST_CASE("a crash between writing and renaming leaves the previous file intact") {
    TempDir dir;
    const std::string path = dir.file("net.npz");
    auto first = make_mlp<double>(MLPOptions({3, 2}, "relu").init(Init::PyTorchDefault).seed(1));
    save(*first, path);
    const std::string before = read_bytes(path);

    // In a child process: the hook ends the process just before the rename,
    // as a crash (kill -9, power loss) would.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        io::set_before_rename_hook([](const std::string&) { _exit(42); });
        save(*make_mlp<double>(MLPOptions({3, 2}, "relu").init(Init::PyTorchDefault).seed(2)), path);
        _exit(0);  // not reached when the hook runs
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 42));
    CHECK(read_bytes(path) == before);
    auto restored = make_mlp<double>(MLPOptions({3, 2}, "relu").init(Init::PyTorchDefault).seed(3));
    load(*restored, path);
    CHECK(restored->state_dict() == first->state_dict());

    // In process: a hook that throws makes save fail and removes its temporary.
    TempDir clean;
    const std::string clean_path = clean.file("net.npz");
    save(*first, clean_path);
    io::set_before_rename_hook([](const std::string&) { throw Error("simulated crash"); });
    auto other = make_mlp<double>(MLPOptions({3, 2}, "relu").init(Init::PyTorchDefault).seed(2));
    CHECK_THROWS_AS(save(*other, clean_path), Error);
    io::set_before_rename_hook(nullptr);
    CHECK(clean.entries() == 1);
    load(*restored, clean_path);
    CHECK(restored->state_dict() == first->state_dict());
}
