/// \file
/// An in-memory data set (inputs stored as rows of floats, served to a model
/// flat or in a per-sample shape such as 1 x 28 x 28; class labels or rows of
/// float targets) and the ways to get one: from MNIST-layout IDX files, as a
/// subset, as a seeded train/validation split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/config.hpp>  // first: it checks the flags that xtensor's types depend on
#include <xtensor/xtensor.hpp>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/data/idx.hpp>

namespace tapegrad {

/// A data set held in memory: one row of `inputs` per sample, and what the
/// model should answer for it: a class label (`labels`, the default) or a row
/// of `targets` (anything else: regression values, a sequence of token ids),
/// never both. A plain value (copies are deep); a BatchLoader or
/// train::Trainer keeps a reference to the one it is given, which must
/// outlive it.
///
/// The rows are what is stored; `sample_shape` says how a model sees one
/// sample. Empty (the default, and what the IDX loaders give), batches are
/// (batch, features()), the input of a Linear or an MLP; with_sample_shape(data,
/// {1, 28, 28}) serves the same rows as (batch, 1, 28, 28) images for a Conv2d.
struct Dataset {
    /// Samples x features, row-major: one row is one sample.
    xt::xtensor<float, 2> inputs;  // samples x features, row-major: one row is one sample
    /// One class index in [0, num_classes) per row of `inputs`; empty when
    /// the data set has `targets` instead.
    Labels labels;                 // one class index in [0, num_classes) per row
    /// How many classes the labels index (10 for MNIST), even if some are absent.
    std::size_t num_classes = 0;
    /// The shape of one sample as batches hand it to a model, with features()
    /// elements (set it with with_sample_shape(), which checks that); empty:
    /// a flat row of features().
    Shape sample_shape;

    /// Samples x k floats, one row per row of `inputs`, when the samples'
    /// answers are not class labels: (N, k) regression values, or (N, T)
    /// token ids of a sequence stored as whole numbers (exact up to 2^24;
    /// a loss that needs Indices casts them, xt::cast<std::int64_t>), as
    /// the inputs are floats too. Batches serve them as a (batch, k) tensor
    /// gathered by the same rows (Batch::targets); a loss of the caller's
    /// compares them with the model's outputs (train::TargetLoss). Empty
    /// (0 x 0, the default): the data set has class labels.
    xt::xtensor<float, 2> targets;

    /// Whether the samples' answers are rows of `targets` rather than class
    /// labels: `targets` is anything but its default 0 x 0.
    bool has_targets() const { return targets.shape()[0] != 0 || targets.shape()[1] != 0; }
    /// The number of samples: of labels, or of rows of targets.
    std::size_t size() const { return has_targets() ? targets.shape()[0] : labels.size(); }
    /// The width of one input row.
    std::size_t features() const { return inputs.shape()[1]; }
    /// The shape of a batch of `n` samples: (n, sample_shape...), or
    /// (n, features()) when sample_shape is empty. Throws tapegrad::Error
    /// naming both shapes when sample_shape does not have features() elements.
    Shape batch_shape(std::size_t n) const;
    /// Throws tapegrad::Error, starting with `who` and naming the shapes,
    /// unless `inputs` has one row per sample, the samples have labels or
    /// targets (at least one value a row) but not both, and sample_shape fits
    /// the rows; what a BatchLoader and a train::Trainer check first.
    void check(const std::string& who) const;
};

/// `data` with its samples served in `sample_shape` (see Dataset::sample_shape;
/// empty: flat rows again). The stored rows are unchanged. Throws
/// tapegrad::Error naming both shapes unless sample_shape has features()
/// elements, none of its extents 0.
Dataset with_sample_shape(Dataset data, Shape sample_shape);

/// A data set from an IDX images file and an IDX labels file (raw or gzip),
/// images flattened row by row and scaled to [0, 1] (pixel / 255). The
/// samples are flat rows (empty sample_shape), so existing MLPs take them;
/// with_sample_shape(data, {1, rows, cols}) makes them images. Throws
/// tapegrad::Error naming the file if either cannot be read (see
/// read_idx_images()), if the counts differ or a label is not below num_classes.
/// `max_idx_bytes` caps each file's values, as for read_idx_images().
Dataset dataset_from_idx(const std::string& images_path, const std::string& labels_path,
                         std::size_t num_classes = 10, std::size_t max_idx_bytes = kIdxMaxBytes);

/// The `split` ("train" or "test") of an MNIST-layout directory, 10 classes.
/// The MNIST file layout, also used by Fashion-MNIST: for split "train" the
/// files train-{images-idx3,labels-idx1}-ubyte, for "test" t10k-..., each raw
/// or with a .gz suffix. Throws tapegrad::Error listing every path tried when
/// one is missing, or for another split name, and naming the path and the
/// reason when one cannot be looked at or read; read errors as dataset_from_idx().
/// `max_idx_bytes` caps each file's values, as for read_idx_images().
Dataset load_mnist_dir(const std::string& dir, const std::string& split, std::size_t max_idx_bytes = kIdxMaxBytes);

/// The rows `indices` of `data`, in that order (repeats allowed), as a new
/// data set with the same num_classes and sample_shape, and the same rows of
/// the labels or the targets. Throws tapegrad::Error naming the index
/// when one is not below data.size(), and as Dataset::check() when `data`
/// does not hold together.
Dataset subset(const Dataset& data, const std::vector<std::size_t>& indices);

/// The two parts split_train_validation() returns.
struct TrainValidation {
    /// The samples left for training.
    Dataset train;
    /// The samples held out to measure the model on.
    Dataset validation;
};

/// A disjoint split, the same for the same seed: `validation_size` samples
/// drawn at random go to validation, the rest to train, both keeping the
/// original order of the samples. Throws tapegrad::Error when
/// validation_size exceeds data.size().
TrainValidation split_train_validation(const Dataset& data, std::size_t validation_size, std::uint64_t seed);

}  // namespace tapegrad
