#include <tapegrad/data/dataset.hpp>

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <tapegrad/data/idx.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad {

namespace {

// The path of `stem` or `stem.gz` in dir, whichever exists (raw first);
// otherwise records both in `missing` and returns "". Whatever exists is
// returned even if it is not a regular file, so the reader says what it is;
// a path the system cannot look at (a loop of links, a name too long, a
// directory without search permission) is an error naming it and the reason.
std::string find_idx(const std::string& dir, const std::string& stem, std::vector<std::string>& missing) {
    const std::string base = dir.empty() || dir.back() == '/' ? dir + stem : dir + "/" + stem;
    for (const std::string& path : {base, base + ".gz"}) {
        struct stat info {};
        if (::stat(path.c_str(), &info) == 0) return path;
        if (errno != ENOENT) throw Error("'" + path + "': cannot look at it: " + std::strerror(errno));
    }
    missing.push_back(base + "[.gz]");
    return "";
}

// Rows of the inputs as a fresh array of huge pages where the system offers
// them (Linux's transparent huge pages in "madvise" mode, the usual default).
// A shuffled BatchLoader reads them in random order, each row on a page of
// its own, and with 4 KiB pages every row costs a page walk: huge pages made
// a batch-200 gather of Fashion-MNIST about 20% faster (CHANGELOG.md,
// "Performance history", "Outside the products").
// Asked before the rows are written, as the kernel chooses a page's size
// when it first touches it; only the 2 MiB-aligned stretches inside qualify,
// and a system without them ignores the advice.
xt::xtensor<float, 2> input_rows(std::size_t rows, std::size_t width) {
    auto inputs = xt::xtensor<float, 2>::from_shape({rows, width});
#ifdef MADV_HUGEPAGE
    const std::uintptr_t page = 4096, begin = std::uintptr_t(inputs.data()),
                         end = std::uintptr_t(inputs.data() + inputs.size());
    const std::uintptr_t first = (begin + page - 1) & ~(page - 1), last = end & ~(page - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);  // advice only: errors do not matter
#endif
    return inputs;
}

void check_label(std::int64_t label, std::size_t index, std::size_t num_classes, const std::string& where) {
    if (label < 0 || static_cast<std::size_t>(label) >= num_classes)
        throw Error(where + ": label " + std::to_string(label) + " at index " + std::to_string(index) +
                    " is not a class of " + std::to_string(num_classes));
}

// Whether the extents, none of them 0, multiply to exactly `count` (checked
// step by step, so a product that would overflow is a mismatch, not a wrap).
bool has_elements(const Shape& shape, std::size_t count) {
    std::size_t elements = 1;
    for (std::size_t extent : shape) {
        if (extent == 0 || elements > count / extent) return false;
        elements *= extent;
    }
    return elements == count;
}

void check_sample_shape(const Dataset& data, const Shape& sample_shape, const char* where) {
    if (!sample_shape.empty() && !has_elements(sample_shape, data.features()))
        throw Error(std::string(where) + ": samples of shape " + shape_str(sample_shape) + " do not fit rows of " +
                    std::to_string(data.features()) + " features (data set inputs " +
                    shape_str(Shape(data.inputs.shape().begin(), data.inputs.shape().end())) + ")");
}

}  // namespace

Shape Dataset::batch_shape(std::size_t n) const {
    check_sample_shape(*this, sample_shape, "Dataset::batch_shape");
    Shape shape{n};
    if (sample_shape.empty()) shape.push_back(features());
    else shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    return shape;
}

void Dataset::check(const std::string& who) const {
    const auto shape_of = [](const xt::xtensor<float, 2>& rows) { return shape_str(Shape(rows.shape().begin(), rows.shape().end())); };
    if (has_targets() && !labels.empty())
        throw Error(who + ": the data set has both " + std::to_string(labels.size()) + " labels and targets of shape " +
                    shape_of(targets) + "; a sample's answer is one or the other");
    if (has_targets() && targets.shape()[1] == 0)
        throw Error(who + ": targets of shape " + shape_of(targets) + " have no value per sample");
    if (inputs.shape()[0] != size())
        throw Error(who + ": the data set has " + std::to_string(inputs.shape()[0]) + " input rows but " +
                    (has_targets() ? "targets of shape " + shape_of(targets) + " (inputs " + shape_of(inputs) + ")"
                                   : std::to_string(size()) + " labels"));
    check_sample_shape(*this, sample_shape, who.c_str());
}

Dataset with_sample_shape(Dataset data, Shape sample_shape) {
    check_sample_shape(data, sample_shape, "with_sample_shape");
    data.sample_shape = std::move(sample_shape);
    return data;
}

Dataset dataset_from_idx(const std::string& images_path, const std::string& labels_path, std::size_t num_classes,
                         std::size_t max_idx_bytes) {
    const IdxImages images = read_idx_images(images_path, max_idx_bytes);
    const std::vector<std::uint8_t> labels = read_idx_labels(labels_path, max_idx_bytes);
    if (images.count != labels.size())
        throw Error("images file '" + images_path + "' holds " + std::to_string(images.count) +
                    " images but labels file '" + labels_path + "' holds " + std::to_string(labels.size()) +
                    " labels");
    Dataset data;
    data.num_classes = num_classes;
    data.labels.assign(labels.begin(), labels.end());
    for (std::size_t i = 0; i < labels.size(); ++i)
        check_label(labels[i], i, num_classes, "labels file '" + labels_path + "'");
    data.inputs = input_rows(images.count, images.rows * images.cols);
    std::transform(images.pixels.begin(), images.pixels.end(), data.inputs.begin(),
                   [](std::uint8_t p) { return static_cast<float>(p) / 255.0f; });
    return data;
}

Dataset load_mnist_dir(const std::string& dir, const std::string& split, std::size_t max_idx_bytes) {
    if (split != "train" && split != "test")
        throw Error("load_mnist_dir: split '" + split + "' is neither \"train\" nor \"test\"");
    const std::string prefix = split == "train" ? "train" : "t10k";
    std::vector<std::string> missing;
    const std::string images = find_idx(dir, prefix + "-images-idx3-ubyte", missing);
    const std::string labels = find_idx(dir, prefix + "-labels-idx1-ubyte", missing);
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) list += "\n  " + m;
        throw Error("load_mnist_dir: the " + split + " split of '" + dir + "' is incomplete; not found:" + list +
                    "\n(run scripts/setup-data.sh to build data/mnist/)");
    }
    return dataset_from_idx(images, labels, 10, max_idx_bytes);
}

Dataset subset(const Dataset& data, const std::vector<std::size_t>& indices) {
    data.check("subset");  // the copies below read the rows size() promises
    const std::size_t width = data.features();
    Dataset out;
    out.num_classes = data.num_classes;
    out.sample_shape = data.sample_shape;
    const std::size_t target_width = data.targets.shape()[1];
    out.inputs = input_rows(indices.size(), width);
    if (data.has_targets()) out.targets = xt::xtensor<float, 2>::from_shape({indices.size(), target_width});
    else out.labels.reserve(indices.size());
    for (std::size_t row = 0; row < indices.size(); ++row) {
        const std::size_t i = indices[row];
        if (i >= data.size())
            throw Error("subset: index " + std::to_string(i) + " is out of range for a data set of " +
                        std::to_string(data.size()) + " samples");
        std::memcpy(out.inputs.data() + row * width, data.inputs.data() + i * width, width * sizeof(float));
        if (data.has_targets())
            std::memcpy(out.targets.data() + row * target_width, data.targets.data() + i * target_width,
                        target_width * sizeof(float));
        else
            out.labels.push_back(data.labels[i]);
    }
    return out;
}

TrainValidation split_train_validation(const Dataset& data, std::size_t validation_size, std::uint64_t seed) {
    if (validation_size > data.size())
        throw Error("split_train_validation: validation size " + std::to_string(validation_size) +
                    " exceeds the " + std::to_string(data.size()) + " samples");
    std::vector<std::size_t> order = permutation(data.size(), seed);
    std::vector<std::size_t> validation(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(validation_size));
    std::vector<std::size_t> train(order.begin() + static_cast<std::ptrdiff_t>(validation_size), order.end());
    std::sort(validation.begin(), validation.end());
    std::sort(train.begin(), train.end());
    return {subset(data, train), subset(data, validation)};
}

}  // namespace tapegrad
