// Saving a module's parameters as a numpy .npz, one "<name>.npy" per
// parameter (float32 or float64 as T), so that numpy.load(path)["0.weight"]
// is the first layer's weight.
#pragma once

#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/io/npz.hpp>

namespace tapegrad::nn {

template <class T>
void save(const Module<T>& module, const std::string& path);

// Every parameter must be in the file with the right shape and dtype, and
// nothing else may be; otherwise tapegrad::Error names the file and the
// parameter, and the module keeps its values.
template <class T>
void load(Module<T>& module, const std::string& path);

// The building blocks, for archives that hold more than one module's state
// (see train/checkpoint.hpp): members "<prefix><name>".
template <class T>
void add_state(io::npz::Members& members, const std::string& prefix, const StateDict<T>& state);
template <class T>
StateDict<T> extract_state(const io::npz::Members& members, const std::string& prefix, const std::string& path);

}  // namespace tapegrad::nn
