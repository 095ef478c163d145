// An in-memory labelled data set (inputs flattened to rows of floats) and the
// ways to get one: from MNIST-layout IDX files, as a subset, as a seeded
// train/validation split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/idx.hpp>

namespace tapegrad {

struct Dataset {
    xt::xtensor<float, 2> inputs;  // samples x features, row-major: one row is one sample
    Labels labels;                 // one class index in [0, num_classes) per row
    std::size_t num_classes = 0;

    std::size_t size() const { return labels.size(); }
    std::size_t features() const { return inputs.shape()[1]; }
};

// Images flattened row by row and scaled to [0, 1] (pixel / 255). Throws if
// the counts differ or a label is not below num_classes. `max_idx_bytes`
// caps each file's values, as for read_idx_images.
Dataset dataset_from_idx(const std::string& images_path, const std::string& labels_path,
                         std::size_t num_classes = 10, std::size_t max_idx_bytes = kIdxMaxBytes);

// The MNIST file layout, also used by Fashion-MNIST: for split "train" the
// files train-{images-idx3,labels-idx1}-ubyte, for "test" t10k-..., each raw
// or with a .gz suffix. Throws listing every path tried when one is missing,
// and naming the path and the reason when one cannot be looked at or read.
Dataset load_mnist_dir(const std::string& dir, const std::string& split, std::size_t max_idx_bytes = kIdxMaxBytes);

// The rows `indices` of `data`, in that order.
Dataset subset(const Dataset& data, const std::vector<std::size_t>& indices);

struct TrainValidation {
    Dataset train;
    Dataset validation;
};

// A disjoint split, the same for the same seed: `validation_size` samples
// drawn at random go to validation, the rest to train, both keeping the
// original order of the samples.
TrainValidation split_train_validation(const Dataset& data, std::size_t validation_size, std::uint64_t seed);

// labels.size() x num_classes, 1 at each label's column, 0 elsewhere.
Tensor<float> one_hot(const Labels& labels, std::size_t num_classes);

}  // namespace tapegrad
