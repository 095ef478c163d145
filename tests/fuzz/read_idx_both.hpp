// Reads a file as IDX images and again as IDX labels. Only tapegrad::Error
// may come out; any other exception reaches libFuzzer as an abort.
#pragma once

#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/idx.hpp>

inline void read_idx_both(const std::string& path) {
    try {
        tapegrad::read_idx_images(path);
    } catch (const tapegrad::Error&) {
    }
    try {
        tapegrad::read_idx_labels(path);
    } catch (const tapegrad::Error&) {
    }
}
