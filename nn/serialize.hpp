/// \file
/// Saving a module's state as a numpy .npz, one "<name>.npy" per parameter and
/// buffer (float32 or float64 as T; int64 for integer buffers such as
/// num_batches_tracked), so that numpy.load(path)["0.weight"] is the first
/// layer's weight. The names and dtypes are PyTorch's: a state_dict saved with
/// `np.savez(f, **{k: v.numpy() for k, v in sd.items()})` loads here, and
/// ours loads into PyTorch with
/// `model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(f).items()})`.
#pragma once

#include <set>
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

/// Reads the .npz at `path` (as save writes it) into the module's parameters
/// and buffers.
///
/// Every parameter and buffer must be in the file with the right shape and
/// dtype (int64 for integer buffers, whose values T must hold exactly), and
/// nothing else may be; otherwise tapegrad::Error names the file and the
/// entry, and the module keeps its values. A missing, non-zip or damaged
/// file throws the same way.
template <class T>
void load(Module<T>& module, const std::string& path);

/// The building blocks, for archives that hold more than one module's state
/// (see train/checkpoint.hpp): members "<prefix><name>".
///
/// add_state encodes every entry of `state` as .npy into `members` under
/// "<prefix><name>", replacing members of the same name; the entries named in
/// `integers` (Module::integer_buffer_names()) as int64, the others as T.
/// Throws tapegrad::Error naming the entry if one of `integers` holds a value
/// that is not a whole number.
template <class T>
void add_state(io::npz::Members& members, const std::string& prefix, const StateDict<T>& state,
               const std::set<std::string>& integers = {});
/// The members whose names start with `prefix`, decoded, keyed by the rest of
/// the name; others are ignored. Those whose rest is in `integers` must be
/// int64, each value one that T holds exactly; the others must be of T's
/// dtype. `path` only names the file in errors: throws tapegrad::Error naming
/// it and the member when one is malformed, of another dtype or out of range.
template <class T>
StateDict<T> extract_state(const io::npz::Members& members, const std::string& prefix, const std::string& path,
                           const std::set<std::string>& integers = {});

}  // namespace tapegrad::nn
