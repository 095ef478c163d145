/// \file
/// Saving a module's parameters as a numpy .npz, one "<name>.npy" per
/// parameter (float32 or float64 as T), so that numpy.load(path)["0.weight"]
/// is the first layer's weight.
#pragma once

#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/io/npz.hpp>

namespace tapegrad::nn {

/// Writes module.state_dict() to `path` as an .npz, replacing any file
/// there. The write is atomic (io::write_file_atomically): a crash mid-save
/// leaves the previous file intact. Throws tapegrad::Error naming the file if
/// it cannot be written.
template <class T>
void save(const Module<T>& module, const std::string& path);

/// Reads the .npz at `path` (as save writes it) into the module's parameters.
///
/// Every parameter must be in the file with the right shape and dtype, and
/// nothing else may be; otherwise tapegrad::Error names the file and the
/// parameter, and the module keeps its values. A missing, non-zip or damaged
/// file throws the same way.
template <class T>
void load(Module<T>& module, const std::string& path);

/// The building blocks, for archives that hold more than one module's state
/// (see train/checkpoint.hpp): members "<prefix><name>".
///
/// add_state encodes every entry of `state` as .npy into `members` under
/// "<prefix><name>", replacing members of the same name.
template <class T>
void add_state(io::npz::Members& members, const std::string& prefix, const StateDict<T>& state);
/// The members whose names start with `prefix`, decoded, keyed by the rest of
/// the name; others are ignored. `path` only names the file in errors:
/// throws tapegrad::Error naming it and the member when one is malformed or
/// of another dtype than T.
template <class T>
StateDict<T> extract_state(const io::npz::Members& members, const std::string& prefix, const std::string& path);

}  // namespace tapegrad::nn
