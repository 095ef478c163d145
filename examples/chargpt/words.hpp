// The data of the chargpt example: Debian's word list, its tokens, the
// seeded train/test split, the (x, y) rows a model trains on, and the random
// batches. Everything here is what examples/chargpt/torch_reference.py does,
// so that PyTorch trains and tests on exactly the same words and rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tapegrad/autograd/labels.hpp>

namespace chargpt {

// Debian's word list (package wamerican), --words' default.
inline constexpr const char* default_words_path = "/usr/share/dict/american-english";
// How to get it, for the error when it is missing.
inline constexpr const char* words_setup_hint =
    "install it with `sudo apt-get install wamerican` (scripts/setup-data.sh does, as root)";

// Tokens: '.' (start and end of a word) = 0, 'a'..'z' = 1..26.
inline constexpr std::int64_t end_token = 0;
inline constexpr std::size_t vocab_size = 27;
// A row's length: the longest word kept (22 letters) plus the start or end token.
inline constexpr std::size_t block_size = 23;
// The target of a position after a word's end: the loss's ignore_index.
inline constexpr std::int64_t ignored_target = -1;
// The test set: the first test_words entries of tapegrad::permutation(n,
// test_split_seed). Fixed, not --seed: every seed, and PyTorch's run, are
// tested on the same words.
inline constexpr std::size_t test_words = 1000;
inline constexpr std::uint64_t test_split_seed = 20;

// Whether a line of the list is a word we keep: 1 to block_size - 1 bytes,
// each one of a..z (so "Abe", "o'clock", "café", a line ending in '\r' and
// longer words are all skipped, as torch_reference.py skips them).
bool is_word(std::string_view line);

// The words of `path` in file order: its lines (split at '\n' only) that
// pass is_word(). Throws tapegrad::Error naming the path and how to install
// the list when it cannot be read, and when no line is a word.
std::vector<std::string> read_words(const std::string& path);

// A word's tokens, 1..26. Throws tapegrad::Error for a character outside a..z.
std::vector<std::int64_t> encode(std::string_view word);

// The word the tokens spell up to the first end_token (or all of them).
// Throws tapegrad::Error for a token outside 0..26.
std::string decode(const std::vector<std::int64_t>& tokens);

struct Split {
    std::vector<std::string> train, test;
};

// test = words[p[0]], ..., words[p[test_count - 1]] and train = the rest in
// the same order, p = tapegrad::permutation(words.size(), seed). Throws
// tapegrad::Error unless both sets get at least one word.
Split split_words(const std::vector<std::string>& words, std::size_t test_count = test_words,
                  std::uint64_t seed = test_split_seed);

// A model's inputs x and targets y, one row per word, each (n, block_size) int64.
struct Rows {
    tapegrad::Indices x, y;
};

// The rows of n words: x = [0] + w padded with 0 (a causal model never looks
// past a position, so no counted target sees the padding), y = w + [0]
// padded with ignored_target. Throws tapegrad::Error for a word is_word()
// refuses.
Rows make_rows(const std::vector<std::string>& words);

// The rows at `indices`, in that order (repeats allowed).
Rows gather_rows(const Rows& rows, const std::vector<std::size_t>& indices);

// Random batches of rows drawn with replacement: row i of step s is
// derive_seed(derive_seed(seed, s), i) % count (tapegrad/autograd/random.hpp).
// A batch depends on (seed, step, i) alone, so a run resumed at step s draws
// what the uninterrupted run drew. The remainder favours small indices by at
// most count / 2^64 (< 4e-15 here): nothing a loss can show. PyTorch's run
// draws its own (torch.randint), so the two see different batches.
class BatchSampler {
public:
    // Throws tapegrad::Error when count or batch_size is 0.
    BatchSampler(std::size_t count, std::size_t batch_size, std::uint64_t seed);
    // The batch_size row indices of step `step`, each below count.
    std::vector<std::size_t> indices(std::uint64_t step) const;

private:
    std::size_t count_, batch_size_;
    std::uint64_t seed_;
};

}  // namespace chargpt
