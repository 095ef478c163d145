// What the distributed tests share: a small model and data, flattened
// weights, and the relative distance between two sets of weights.
#pragma once

#include <algorithm>
#include <cstring>
#include <cmath>
#include <vector>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/train/communicator.hpp>
#include "../train/blobs.hpp"

namespace tapegrad::testing {

// Every parameter and buffer of `model`, one after the other.
template <class T>
std::vector<T> flat_state(const nn::Module<T>& model) {
    std::vector<T> all;
    for (const auto& tensors : {model.parameters(), model.buffers()})
        for (const Tensor<T>& t : tensors) all.insert(all.end(), t.data().begin(), t.data().end());
    return all;
}

// max |a - b| / max |b|: how far `a` is from the reference `b`.
template <class T>
double relative_distance(const std::vector<T>& a, const std::vector<T>& b) {
    if (a.size() != b.size()) throw Error("relative_distance: other sizes");
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return diff / scale;
}

// How many processes hold other bits than rank 0 in `values` (0 on every
// process when all agree).
template <class T>
double ranks_differing_from_rank0(train::Communicator& comm, const std::vector<T>& values) {
    std::vector<T> rank0 = values;
    comm.broadcast(rank0.data(), rank0.size() * sizeof(T));
    double differs = std::memcmp(rank0.data(), values.data(), values.size() * sizeof(T)) != 0;
    comm.allreduce_sum(&differs, 1);
    return differs;
}

}  // namespace tapegrad::testing
