// Public entry points given inconsistent or hostile data: each must throw
// tapegrad::Error with a message naming what is wrong, and change nothing.
// The cases are the gaps an audit of the factories, the optimizers and the
// .npz loader found (and the fuzzers, see tests/fuzz/).
#include <doctest/doctest.h>

#include <zip.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "resident_memory.hpp"
#include "../nn/files.hpp"

using namespace tapegrad;

namespace {

// Runs f, expects tapegrad::Error whose message contains every one of words.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> words) {
    try {
        f();
        FAIL("no error thrown");
    } catch (const Error& e) {
        const std::string message = e.what();
        INFO("message: " << message);
        for (const auto& word : words) CHECK(message.find(word) != std::string::npos);
    }
}

// Overwrites the little-endian u32 at `offset` within every zip record that
// starts with `signature`.
void patch_records(std::string& zip, const std::string& signature, std::size_t offset, std::uint32_t value) {
    for (std::size_t at = zip.find(signature); at != std::string::npos; at = zip.find(signature, at + 4))
        for (int i = 0; i < 4; ++i) zip[at + offset + std::size_t(i)] = char(value >> (8 * i));
}

const Shape huge_shape{std::size_t(1) << 33, std::size_t(1) << 33};  // 2^66 elements: wraps to 0

}  // namespace

TEST_CASE("tensor factories refuse a shape whose element count overflows") {
    expect_error([] { Tensor<float>::from_data({}, huge_shape); }, {"from_data", "(8589934592, 8589934592)", "too large"});
    expect_error([] { Tensor<double>::zeros(huge_shape); }, {"zeros", "too large"});
    expect_error([] { Tensor<double>::ones(huge_shape); }, {"ones", "too large"});
    expect_error([] { Tensor<float>::full(huge_shape, 1.0f); }, {"full", "too large"});
    expect_error([] { Tensor<float>::uniform(huge_shape, 0.0f, 1.0f, 1); }, {"uniform", "too large"});
    expect_error([] { Tensor<double>::normal(huge_shape, 0.0, 1.0, 1); }, {"normal", "too large"});
    // An empty dimension makes any shape empty, however large the others.
    CHECK(Tensor<float>::from_data({}, {std::size_t(1) << 62, 0, std::size_t(1) << 62}).size() == 0);
}

TEST_CASE("reshape and broadcast_to refuse a shape whose element count overflows") {
    // Before: 3 * 0x5555555555555556 wrapped around to 2, so reshape accepted
    // it; 2^32 * 2^32 wrapped to 0, so broadcast_to made an "empty" array of a
    // huge shape. A later sum, transpose or at() ran off the buffer.
    expect_error([] { reshape(Tensor<float>::zeros({2}), {3, 0x5555555555555556ull}); },
                 {"reshape", "(3, 6148914691236517206)", "too large"});
    expect_error([] { broadcast_to(Tensor<float>::ones({1}), {1ull << 32, 1ull << 32}); },
                 {"broadcast_to", "(4294967296, 4294967296)", "too large"});
    // Element counts that fit, but whose bytes do not.
    expect_error([] { reshape(Tensor<double>::zeros({2}), {1ull << 61, 2}); }, {"reshape", "too large"});
    // Empty shapes are fine however large their other dimensions.
    CHECK(reshape(Tensor<float>::zeros({0}), {1ull << 62, 0, 1ull << 62}).size() == 0);
    CHECK(broadcast_to(Tensor<float>::ones({1}), {1ull << 62, 0, 1ull << 62}).size() == 0);
    // Unless the extents xtensor multiplies into strides overflow (found by
    // fuzz_npy: signed overflow inside xtensor).
    expect_error([] { Tensor<float>::zeros({0, 3, 99999995999999990ull, 37}); }, {"Tensor::zeros", "too large"});
    expect_error([] { reshape(Tensor<float>::zeros({0}), {1ull << 62, 4, 0}); }, {"reshape", "too large"});
}

TEST_CASE("random factories refuse non-finite parameters") {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    expect_error([&] { Tensor<double>::uniform({2}, -inf, 0.0, 1); }, {"uniform", "finite"});
    expect_error([&] { Tensor<double>::uniform({2}, 0.0, inf, 1); }, {"uniform", "finite"});
    expect_error([&] { Tensor<double>::uniform({2}, nan, 1.0, 1); }, {"uniform"});
    expect_error([&] { Tensor<double>::normal({2}, inf, 1.0, 1); }, {"normal", "finite"});
    expect_error([&] { Tensor<double>::normal({2}, 0.0, inf, 1); }, {"normal", "finite"});
    expect_error([&] { Tensor<double>::normal({2}, nan, 1.0, 1); }, {"normal"});
}

TEST_CASE("optimizer options must be finite, and each parameter listed once") {
    const double inf = std::numeric_limits<double>::infinity();
    auto w = Tensor<float>::zeros({2, 2}, true);
    expect_error([&] { optim::SGD<float>({w}, optim::SGDOptions(inf)); }, {"SGD", "lr", "inf"});
    expect_error([&] { optim::SGD<float>({w}, optim::SGDOptions(0.1).weight_decay(inf)); }, {"SGD", "weight_decay"});
    expect_error([&] { optim::Adam<float>({w}, optim::AdamOptions(0.1).eps(inf)); }, {"Adam", "eps"});
    expect_error([&] { optim::Adam<float>({w}, optim::AdamOptions(0.1).weight_decay(inf)); }, {"Adam", "weight_decay"});
    expect_error([&] { optim::AdamW<float>({w}, optim::AdamWOptions(inf)); }, {"AdamW", "lr"});
    expect_error([&] { optim::SGD<float>({w, w}, optim::SGDOptions(0.1)); }, {"parameters 0 and 1", "same tensor"});
}

TEST_CASE("a module without parameters saves and loads (an empty .npz, as numpy writes it)") {
    TempDir dir;
    const std::string path = dir.file("empty.npz");
    nn::Sequential<float> activations({std::make_shared<nn::ReLU<float>>(), std::make_shared<nn::Tanh<float>>()});
    nn::save(activations, path);
    CHECK(io::npz::read(path).empty());
    nn::load(activations, path);
}

TEST_CASE("an .npz member declaring gigabytes is refused without allocating them") {
    TempDir dir;
    const std::string path = dir.file("huge.npz");
    auto net = nn::make_mlp<float>(nn::MLPOptions({3, 2}, "relu").init(nn::Init::PyTorchDefault).seed(1));
    const nn::StateDict<float> before = net->state_dict();
    // A deflated archive (the declared size of a stored member must match the
    // compressed one, which libzip checks), then every declared uncompressed
    // size (local header offset 22, central directory offset 24) set to 2 GB.
    {
        int code = 0;
        zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
        REQUIRE(zip != nullptr);
        io::npz::Members members;
        nn::add_state(members, "", before);
        for (const auto& [name, bytes] : members) {
            zip_source_t* source = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
            const zip_int64_t index = zip_file_add(zip, (name + ".npy").c_str(), source, 0);
            REQUIRE(index >= 0);
            zip_set_file_compression(zip, zip_uint64_t(index), ZIP_CM_DEFLATE, 9);
        }
        REQUIRE(zip_close(zip) == 0);
    }
    std::string bytes = read_bytes(path);
    patch_records(bytes, std::string("PK\3\4", 4), 22, 0x7fffffff);
    patch_records(bytes, std::string("PK\1\2", 4), 24, 0x7fffffff);
    write_bytes(path, bytes);

    const std::size_t rss_before = resident_bytes();
    expect_error([&] { nn::load(*net, path); }, {path, "zip entry declares 2147483647", "truncated"});
    // Believing the header meant a 2 GB buffer (RSS +2 GB before this fix).
    CHECK(resident_bytes() < rss_before + (std::size_t(256) << 20));
    CHECK(net->state_dict() == before);
}

TEST_CASE("a malformed .npy header names the file and the parameter and changes nothing") {
    TempDir dir;
    const std::string path = dir.file("bad.npz");
    auto net = nn::make_mlp<float>(nn::MLPOptions({3, 2}, "relu").init(nn::Init::PyTorchDefault).seed(1));
    const nn::StateDict<float> before = net->state_dict();
    io::npz::Members members;
    nn::add_state(members, "", before);
    // The input fuzzing found: xnpy's parser read before the start of a
    // string on it (undefined behaviour). Each variant breaks one rule.
    std::string& weight = members.at("0.weight");
    const std::string good = weight;
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"'shape':", "'shape'<"},
                                   {"False", "Fals "},
                                   {"'descr'", "'dtype'"},
                                   {"(2, 3)", "(2, -3)"},
                                   {"(2, 3)", "(2, x)"},
                                   {"(2, 3)", "(99999999999999999999999, 3)"},
                                   {"{'descr'", "['descr'"}}) {
        weight = good;
        const std::size_t at = weight.find(from);
        REQUIRE(at != std::string::npos);
        weight.replace(at, from.size(), to);
        io::npz::write(path, members);
        INFO("header: " << weight.substr(10, 70));
        expect_error([&] { nn::load(*net, path); }, {path, "'0.weight'", "header"});
        CHECK(net->state_dict() == before);
    }
}

TEST_CASE("an .npz with a member name twice is refused, not silently merged") {
    TempDir dir;
    const std::string path = dir.file("twice.npz");
    auto net = nn::make_mlp<float>(nn::MLPOptions({3, 2}, "relu").init(nn::Init::PyTorchDefault).seed(1));
    io::npz::Members members;
    nn::add_state(members, "", net->state_dict());
    members["0.weighX"] = members.at("0.weight");
    io::npz::write(path, members);
    std::string bytes = read_bytes(path);
    for (std::size_t at = bytes.find("0.weighX"); at != std::string::npos; at = bytes.find("0.weighX", at))
        bytes[at + 7] = 't';
    write_bytes(path, bytes);
    expect_error([&] { io::npz::read(path); }, {path, "already exists"});
}
