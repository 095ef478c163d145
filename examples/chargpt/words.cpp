#include "words.hpp"

#include <algorithm>

#include <xtensor/xview.hpp>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/byte_source.hpp>

namespace chargpt {

using tapegrad::Error;

bool is_word(std::string_view line) {
    return !line.empty() && line.size() < block_size &&
           std::all_of(line.begin(), line.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::vector<std::string> read_words(const std::string& path) {
    // io::ByteSource: the project's reader of regular files (a directory,
    // FIFO or device is refused, naming the path, before anything is read).
    std::string text;
    try {
        tapegrad::io::ByteSource in(path);
        std::uint8_t chunk[1 << 16];
        for (std::size_t got; (got = in.read(chunk, sizeof chunk)) > 0;) text.append(reinterpret_cast<const char*>(chunk), got);
    } catch (const Error& e) {
        throw Error(std::string("read_words: cannot read the word list: ") + e.what() + "; " + words_setup_hint);
    }
    std::vector<std::string> words;
    for (std::size_t start = 0; start <= text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + start, end - start);
        if (is_word(line)) words.emplace_back(line);
        start = end + 1;
    }
    if (words.empty())
        throw Error("read_words: the word list '" + path + "' has no line of 1 to " + std::to_string(block_size - 1) +
                    " letters a-z; " + words_setup_hint);
    return words;
}

std::vector<std::int64_t> encode(std::string_view word) {
    std::vector<std::int64_t> tokens;
    tokens.reserve(word.size());
    for (char c : word) {
        if (c < 'a' || c > 'z') throw Error("encode: '" + std::string(word) + "' has a character other than a-z");
        tokens.push_back(c - 'a' + 1);
    }
    return tokens;
}

std::string decode(const std::vector<std::int64_t>& tokens) {
    std::string word;
    for (std::int64_t t : tokens) {
        if (t < 0 || t >= std::int64_t(vocab_size))
            throw Error("decode: token " + std::to_string(t) + " is outside 0.." + std::to_string(vocab_size - 1));
        if (t == end_token) break;
        word.push_back(char('a' + t - 1));
    }
    return word;
}

Split split_words(const std::vector<std::string>& words, std::size_t test_count, std::uint64_t seed) {
    if (test_count == 0 || test_count >= words.size())
        throw Error("split_words: cannot hold out " + std::to_string(test_count) + " test words of " +
                    std::to_string(words.size()) + ": both sets need at least one");
    const std::vector<std::size_t> order = tapegrad::permutation(words.size(), seed);
    Split split;
    for (std::size_t k = 0; k < order.size(); ++k) (k < test_count ? split.test : split.train).push_back(words[order[k]]);
    return split;
}

Rows make_rows(const std::vector<std::string>& words) {
    Rows rows{tapegrad::Indices::from_shape({words.size(), block_size}),
              tapegrad::Indices::from_shape({words.size(), block_size})};
    rows.x.fill(end_token);
    rows.y.fill(ignored_target);
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (!is_word(words[i]))
            throw Error("make_rows: '" + words[i] + "' is not 1 to " + std::to_string(block_size - 1) + " letters a-z");
        const std::vector<std::int64_t> tokens = encode(words[i]);
        for (std::size_t t = 0; t < tokens.size(); ++t) {
            rows.x(i, t + 1) = tokens[t];
            rows.y(i, t) = tokens[t];
        }
        rows.y(i, tokens.size()) = end_token;
    }
    return rows;
}

Rows gather_rows(const Rows& rows, const std::vector<std::size_t>& indices) {
    const std::size_t n = rows.x.shape()[0];
    for (std::size_t i : indices)
        if (i >= n) throw Error("gather_rows: row " + std::to_string(i) + " of " + std::to_string(n));
    return {xt::view(rows.x, xt::keep(indices), xt::all()), xt::view(rows.y, xt::keep(indices), xt::all())};
}

BatchSampler::BatchSampler(std::size_t count, std::size_t batch_size, std::uint64_t seed)
    : count_(count), batch_size_(batch_size), seed_(seed) {
    if (count == 0 || batch_size == 0)
        throw Error("BatchSampler: a batch sampler needs rows (" + std::to_string(count) + ") and a batch size (" +
                    std::to_string(batch_size) + ")");
}

std::vector<std::size_t> BatchSampler::indices(std::uint64_t step) const {
    const std::uint64_t step_seed = tapegrad::derive_seed(seed_, step);
    std::vector<std::size_t> batch(batch_size_);
    for (std::size_t i = 0; i < batch_size_; ++i)
        batch[i] = static_cast<std::size_t>(tapegrad::derive_seed(step_seed, i) % count_);
    return batch;
}

}  // namespace chargpt
