// The chargpt example's data and command line (examples/chargpt/words.hpp,
// options.hpp). The split and the word filter are checked against what
// examples/chargpt/torch_reference.py makes of the same lists
// (split_fixture.txt, written by make_split_fixture.py), so that PyTorch's
// reference and the C++ program test on the same 1,000 words.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>

#include "../../examples/chargpt/options.hpp"
#include "../../examples/chargpt/words.hpp"
#include "../common/temp_dir.hpp"

using namespace chargpt;

namespace {

const std::string fixture_dir = CHARGPT_FIXTURE_DIR;

// split_fixture.txt: each line a key and its values, split at spaces; a key
// may repeat (the permutation lines).
std::multimap<std::string, std::vector<std::string>> read_fixture() {
    std::ifstream in(fixture_dir + "/split_fixture.txt");
    REQUIRE(in);
    std::multimap<std::string, std::vector<std::string>> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string key, value;
        fields >> key;
        std::vector<std::string> values;
        while (fields >> value) values.push_back(value);
        lines.emplace(key, values);
    }
    return lines;
}

std::vector<std::string> fixture(const std::string& key) {
    const auto lines = read_fixture();
    REQUIRE(lines.count(key) == 1);
    return lines.find(key)->second;
}

std::vector<std::size_t> numbers(const std::vector<std::string>& values, std::size_t from = 0) {
    std::vector<std::size_t> out;
    for (std::size_t i = from; i < values.size(); ++i) out.push_back(std::stoull(values[i]));
    return out;
}

std::vector<std::size_t> first(const std::vector<std::size_t>& v, std::size_t n) {
    return {v.begin(), v.begin() + std::min(n, v.size())};
}

std::vector<std::string> first(const std::vector<std::string>& v, std::size_t n) {
    return {v.begin(), v.begin() + std::min(n, v.size())};
}

std::vector<std::int64_t> row(const tapegrad::Indices& a, std::size_t i) {
    std::vector<std::int64_t> out;
    for (std::size_t t = 0; t < a.shape()[1]; ++t) out.push_back(a(i, t));
    return out;
}

}  // namespace

TEST_CASE("chargpt: tapegrad::permutation is the one torch_reference.py reimplements") {
    const auto lines = read_fixture();
    const auto [begin, end] = lines.equal_range("permutation");
    REQUIRE(std::distance(begin, end) == 4);
    for (auto it = begin; it != end; ++it) {
        const std::vector<std::string>& v = it->second;  // n, seed, then the first 20 entries
        const std::size_t n = std::stoull(v[0]);
        const std::uint64_t seed = std::stoull(v[1]);
        INFO("n ", n, " seed ", seed);
        CHECK(first(tapegrad::permutation(n, seed), 20) == numbers(v, 2));
    }
}

TEST_CASE("chargpt: the tiny list is filtered and split as in PyTorch's reference") {
    const std::vector<std::string> words = read_words(fixture_dir + "/tiny_words.txt");
    CHECK(words == fixture("tiny_words"));
    const std::vector<std::string> indices = fixture("tiny_test_indices");
    const std::size_t test_count = std::stoull(indices[0]);
    CHECK(first(tapegrad::permutation(words.size(), test_split_seed), 20) == numbers(indices, 1));
    const Split split = split_words(words, test_count);
    CHECK(split.test == fixture("tiny_test_words"));
    CHECK(split.train == fixture("tiny_train_words"));
    CHECK(split.test.size() + split.train.size() == words.size());
}

// Debian's list is installed by scripts/setup-data.sh (package wamerican);
// where it is missing this case says so and checks nothing.
TEST_CASE("chargpt: Debian's word list gives 63,875 words and PyTorch's 1,000 test words") {
    if (!std::filesystem::exists(default_words_path)) {
        const std::string why = std::string("skipped: no ") + default_words_path + "; " + words_setup_hint;
        WARN_MESSAGE(false, why);
        return;
    }
    const std::vector<std::string> words = read_words(default_words_path);
    CHECK(words.size() == std::stoull(fixture("real_count")[0]));
    CHECK(words.size() == 63875);
    std::size_t longest = 0;
    for (const std::string& w : words) longest = std::max(longest, w.size());
    CHECK(longest == std::stoull(fixture("real_longest")[0]));
    CHECK(longest == block_size - 1);
    CHECK(first(tapegrad::permutation(words.size(), test_split_seed), 20) == numbers(fixture("real_test_indices")));
    const Split split = split_words(words);
    CHECK(split.test.size() == test_words);
    CHECK(split.train.size() == words.size() - test_words);
    CHECK(first(split.test, 20) == fixture("real_test_words"));
    CHECK(first(split.train, 20) == fixture("real_train_words"));
}

TEST_CASE("chargpt: a missing or wordless list is an error naming the path and the setup") {
    tapegrad::testing::TempDir dir;
    const std::string missing = dir.file("no-such-list");
    CHECK_THROWS_WITH_AS(read_words(missing),
                         doctest::Contains(("'" + missing + "': cannot open for reading: No such file or directory").c_str()),
                         tapegrad::Error);
    // A directory is refused by name before anything is read (it was a
    // standard-library exception with neither the function nor the path).
    CHECK_THROWS_WITH_AS(read_words(dir.path().string()),
                         doctest::Contains(("read_words: cannot read the word list: '" + dir.path().string() +
                                            "': is a directory, not a regular file").c_str()),
                         tapegrad::Error);
    CHECK_THROWS_WITH_AS(read_words(missing), doctest::Contains("apt-get install wamerican"), tapegrad::Error);
    std::ofstream(dir.file("empty")) << "Abc\nO'Neil\n\n";
    CHECK_THROWS_WITH_AS(read_words(dir.file("empty")), doctest::Contains(dir.file("empty").c_str()), tapegrad::Error);
    CHECK_THROWS_AS(split_words({"one"}, 1), tapegrad::Error);
    CHECK_THROWS_AS(split_words({"one", "two"}, 0), tapegrad::Error);
    CHECK(split_words({"one", "two"}, 1).train.size() == 1);
}

TEST_CASE("chargpt: tokens round-trip, and decoding stops at the end token") {
    CHECK(encode("abz") == std::vector<std::int64_t>{1, 2, 26});
    CHECK(encode("").empty());
    for (const std::string& w : read_words(fixture_dir + "/tiny_words.txt")) CHECK(decode(encode(w)) == w);
    CHECK(decode({8, 9, 0, 1, 2}) == "hi");
    CHECK(decode({0, 1}).empty());
    CHECK(decode({26, 1}) == "za");  // no end token: every letter
    CHECK_THROWS_WITH_AS(encode("aBc"), doctest::Contains("aBc"), tapegrad::Error);
    CHECK_THROWS_WITH_AS(decode({1, 27}), doctest::Contains("27"), tapegrad::Error);
    CHECK_THROWS_AS(decode({-1}), tapegrad::Error);
    CHECK(is_word("a"));
    CHECK(is_word(std::string(block_size - 1, 'q')));
    for (const char* bad : {"", "Abe", "o'clock", "fig\r", "caf\xc3\xa9", " a"}) CHECK_FALSE(is_word(bad));
    CHECK_FALSE(is_word(std::string(block_size, 'q')));
}

TEST_CASE("chargpt: rows are [0] + w and w + [0], padded with 0 and with -1") {
    const std::string longest(block_size - 1, 'b');
    const Rows rows = make_rows({"abc", longest, "z"});
    REQUIRE(rows.x.shape() == std::vector<std::size_t>{3, block_size});
    REQUIRE(rows.y.shape() == std::vector<std::size_t>{3, block_size});
    std::vector<std::int64_t> x(block_size, 0), y(block_size, -1);
    x[1] = 1, x[2] = 2, x[3] = 3;
    y[0] = 1, y[1] = 2, y[2] = 3, y[3] = 0;
    CHECK(row(rows.x, 0) == x);
    CHECK(row(rows.y, 0) == y);
    // The longest word fills the block: no padding, no ignored target.
    std::vector<std::int64_t> long_x(block_size, 2), long_y(block_size, 2);
    long_x[0] = 0;
    long_y[block_size - 1] = 0;
    CHECK(row(rows.x, 1) == long_x);
    CHECK(row(rows.y, 1) == long_y);
    CHECK(rows.x(2, 1) == 26);
    CHECK(rows.y(2, 0) == 26);
    CHECK(rows.y(2, 1) == end_token);
    CHECK(rows.y(2, 2) == ignored_target);
    CHECK(make_rows({}).x.shape() == std::vector<std::size_t>{0, block_size});
    CHECK_THROWS_WITH_AS(make_rows({"ok", std::string(block_size, 'a')}), doctest::Contains("make_rows"),
                         tapegrad::Error);
    CHECK_THROWS_AS(make_rows({"Ok"}), tapegrad::Error);

    const Rows picked = gather_rows(rows, {2, 0, 2});
    REQUIRE(picked.x.shape() == std::vector<std::size_t>{3, block_size});
    CHECK(row(picked.x, 0) == row(rows.x, 2));
    CHECK(row(picked.y, 1) == y);
    CHECK(row(picked.y, 2) == row(rows.y, 2));
    CHECK_THROWS_WITH_AS(gather_rows(rows, {0, 3}), doctest::Contains("row 3 of 3"), tapegrad::Error);
}

TEST_CASE("chargpt: batches repeat by (seed, step), cover every row, and differ between steps") {
    const BatchSampler sampler(10, 32, 7);
    CHECK(sampler.indices(3) == BatchSampler(10, 32, 7).indices(3));  // a fresh sampler, as a resumed run
    CHECK(sampler.indices(3) != sampler.indices(4));
    CHECK(sampler.indices(3) != BatchSampler(10, 32, 8).indices(3));
    CHECK(sampler.indices(0).size() == 32);
    // The documented rule, element by element.
    const std::vector<std::size_t> batch = sampler.indices(5);
    for (std::size_t i = 0; i < batch.size(); ++i)
        CHECK(batch[i] == tapegrad::derive_seed(tapegrad::derive_seed(7, 5), i) % 10);
    // With replacement and uniform: 1,000 steps of 32 over 10 rows, each row
    // drawn 3,200 times on average; a binomial standard deviation is
    // sqrt(32000 * 0.1 * 0.9) = 54, so +-300 (5.6 sigma) fails by chance
    // with probability about 1e-7 per row.
    std::vector<std::size_t> counts(10, 0);
    bool repeats = false;
    for (std::uint64_t step = 0; step < 1000; ++step) {
        std::vector<bool> seen(10, false);
        for (std::size_t i : sampler.indices(step)) {
            REQUIRE(i < 10);
            ++counts[i];
            repeats = repeats || seen[i];
            seen[i] = true;
        }
    }
    CHECK(repeats);
    for (std::size_t c : counts) CHECK(std::abs(double(c) - 3200.0) < 300.0);
    CHECK_THROWS_AS(BatchSampler(0, 32, 1), tapegrad::Error);
    CHECK_THROWS_AS(BatchSampler(10, 0, 1), tapegrad::Error);
}

namespace {

ParsedCommandLine parse(std::vector<std::string> args) {
    args.insert(args.begin(), "chargpt");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return parse_command_line(int(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("chargpt: the flags and their defaults") {
    const ParsedCommandLine defaults = parse({});
    REQUIRE_FALSE(defaults.exit_code);
    const Options& d = defaults.options;
    CHECK(d.model == "gpt");
    CHECK(d.steps == 5000);
    CHECK(d.batch_size == 32);
    CHECK(d.seed == 1);
    CHECK(d.sample == 0);
    CHECK(d.words == default_words_path);
    CHECK(d.save.empty());
    CHECK(d.load.empty());

    tapegrad::testing::TempDir dir;
    const ParsedCommandLine set = parse({"--model", "gru", "--steps", "7", "--batch-size", "1", "--seed",
                                         "18446744073709551615", "--sample", "5", "--words", "list.txt", "--save",
                                         dir.file("w.npz"), "--metrics", dir.file("m.csv"), "--plot",
                                         dir.file("p.svg")});
    REQUIRE_FALSE(set.exit_code);
    const Options& o = set.options;
    CHECK(o.model == "gru");
    CHECK(o.steps == 7);
    CHECK(o.batch_size == 1);
    CHECK(o.seed == UINT64_MAX);
    CHECK(o.sample == 5);
    CHECK(o.words == "list.txt");
    CHECK(o.save == dir.file("w.npz"));
    CHECK(o.metrics == dir.file("m.csv"));
    CHECK(o.plot == dir.file("p.svg"));
    CHECK(parse({"--load", "w.npz", "--sample", "3"}).options.load == "w.npz");
    CHECK(parse({"--help"}).exit_code == 0);
}

TEST_CASE("chargpt: bad flags exit 2 naming the flag") {
    tapegrad::testing::TempDir dir;
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"--no-such-flag"}, "--no-such-flag"},
        {{"--model", "transformer"}, "transformer"},
        {{"--steps", "0"}, "--steps"},
        {{"--steps", "-1"}, "'-1' is not a whole number"},
        {{"--steps", "1.5"}, "--steps"},
        {{"--steps", ""}, "empty"},
        {{"--batch-size", "0"}, "--batch-size"},
        {{"--batch-size", "+3"}, "--batch-size"},
        {{"--seed", "18446744073709551616"}, "too large"},  // 2^64
        {{"--sample", "99999999999999999999999"}, "too large"},
        {{"--sample", "x"}, "--sample"},
        {{"--steps"}, "--steps"},
        {{"--load", "w.npz", "--save", dir.file("v.npz")}, "--load excludes --save"},
        {{"--load", "w.npz", "--metrics", dir.file("m.csv")}, "--load excludes --metrics"},
        {{"--load", "w.npz", "--plot", dir.file("p.svg")}, "--load excludes --plot"},
        {{"--save", dir.file("no-such-dir/w.npz")}, "no-such-dir"},
        {{"--save", dir.file("")}, "directory"},
        {{"--save", dir.file("same"), "--metrics", dir.file("same")}, "also the --save file"},
        {{"extra"}, "extra"},
    };
    for (const Case& c : cases) {
        std::ostringstream err;
        std::streambuf* cerr = std::cerr.rdbuf(err.rdbuf());
        const ParsedCommandLine parsed = parse(c.args);
        std::cerr.rdbuf(cerr);
        INFO(c.args.front(), " ", c.args.size() > 1 ? c.args[1] : "", ": ", err.str());
        CHECK(parsed.exit_code == 2);
        CHECK(err.str().find(c.message) != std::string::npos);
    }
}
