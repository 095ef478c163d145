#include <tapegrad/train/checkpoint.hpp>

#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/serialize.hpp>

namespace tapegrad::train {

using nn::Module;
using nn::StateDict;
using nn::add_state;
using nn::extract_state;
namespace npz = io::npz;

namespace {
const std::string model_prefix = "model/", buffer_prefix = "optim/buffer/", optim_scalar_prefix = "optim/scalar/";
const std::string epoch_key = "meta/epoch", scalar_prefix = "meta/scalar/", array_prefix = "meta/array/",
                  text_prefix = "meta/text/";

bool has_prefix(const std::string& name, const std::string& prefix) { return name.compare(0, prefix.size(), prefix) == 0; }

xt::xarray<double> scalar_array(double value) {
    xt::xarray<double> a = xt::xarray<double>::from_shape({});
    a() = value;
    return a;
}

template <class X>
X single_value(const xt::xarray<X>& a, const std::string& where) {
    if (a.size() != 1) throw Error(where + ": expected a single value, got shape " + shape_str({a.shape().begin(), a.shape().end()}));
    return *a.begin();
}

// Entry name -> decoded scalar, for every entry under `prefix`.
std::map<std::string, double> read_scalars(const npz::Members& members, const std::string& prefix,
                                           const std::string& path) {
    std::map<std::string, double> values;
    for (const auto& [name, bytes] : members)
        if (has_prefix(name, prefix)) {
            const std::string where = "'" + path + "', entry '" + name + "'";
            values[name.substr(prefix.size())] = single_value(npz::from_npy<double>(bytes, where), where);
        }
    return values;
}
}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const Module<T>& module, const optim::Optimizer<T>& optimizer,
                     const TrainingProgress& progress) {
    npz::Members members;
    try {
        add_state(members, model_prefix, module.state_dict(), module.integer_buffer_names());
    } catch (const Error& e) {
        throw Error("'" + path + "': " + e.what());
    }
    const optim::OptimizerState<T> optimizer_state = optimizer.state();
    add_state(members, buffer_prefix, optimizer_state.buffers);
    for (const auto& [key, value] : optimizer_state.scalars) members[optim_scalar_prefix + key] = npz::to_npy(scalar_array(value));
    xt::xarray<std::int64_t> epoch = xt::xarray<std::int64_t>::from_shape({});
    epoch() = progress.epoch;
    members[epoch_key] = npz::to_npy(epoch);
    for (const auto& [name, value] : progress.scalars) members[scalar_prefix + name] = npz::to_npy(scalar_array(value));
    for (const auto& [name, value] : progress.arrays) members[array_prefix + name] = npz::to_npy(value);
    for (const auto& [name, text] : progress.texts) {
        xt::xarray<std::uint8_t> bytes = xt::xarray<std::uint8_t>::from_shape({text.size()});
        std::copy(text.begin(), text.end(), bytes.begin());
        members[text_prefix + name] = npz::to_npy(bytes);
    }
    npz::write(path, members);
}

template <class T>
TrainingProgress load_checkpoint(const std::string& path, Module<T>& module, optim::Optimizer<T>& optimizer) {
    const npz::Members members = npz::read(path);
    for (const auto& entry : members) {
        bool known = false;
        for (const std::string* prefix : {&model_prefix, &buffer_prefix, &optim_scalar_prefix, &epoch_key,
                                          &scalar_prefix, &array_prefix, &text_prefix})
            known = known || has_prefix(entry.first, *prefix);
        if (!known) throw Error("'" + path + "': unexpected entry '" + entry.first + "'");
    }
    auto epoch_entry = members.find(epoch_key);
    if (epoch_entry == members.end()) throw Error("'" + path + "': not a checkpoint (no '" + epoch_key + "')");

    const StateDict<T> model_state = extract_state<T>(members, model_prefix, path, module.integer_buffer_names());
    optim::OptimizerState<T> optimizer_state;
    optimizer_state.buffers = extract_state<T>(members, buffer_prefix, path);
    optimizer_state.scalars = read_scalars(members, optim_scalar_prefix, path);

    TrainingProgress progress;
    const std::string epoch_where = "'" + path + "', entry '" + epoch_key + "'";
    progress.epoch = single_value(npz::from_npy<std::int64_t>(epoch_entry->second, epoch_where), epoch_where);
    if (progress.epoch < 0) throw Error(epoch_where + ": an epoch count must be >= 0, got " + std::to_string(progress.epoch));
    progress.scalars = read_scalars(members, scalar_prefix, path);
    for (const auto& [name, bytes] : members) {
        const std::string where = "'" + path + "', entry '" + name + "'";
        if (has_prefix(name, array_prefix)) progress.arrays[name.substr(array_prefix.size())] = npz::from_npy<double>(bytes, where);
        if (has_prefix(name, text_prefix)) {
            const xt::xarray<std::uint8_t> text = npz::from_npy<std::uint8_t>(bytes, where);
            progress.texts[name.substr(text_prefix.size())] = std::string(text.begin(), text.end());
        }
    }

    try {
        module.check_state(model_state);
        optimizer.check_state(optimizer_state);
    } catch (const Error& e) {
        throw Error("'" + path + "': " + e.what());
    }
    module.load_state(model_state);
    optimizer.load_state(optimizer_state);
    return progress;
}

template void save_checkpoint(const std::string&, const Module<float>&, const optim::Optimizer<float>&,
                              const TrainingProgress&);
template void save_checkpoint(const std::string&, const Module<double>&, const optim::Optimizer<double>&,
                              const TrainingProgress&);
template TrainingProgress load_checkpoint(const std::string&, Module<float>&, optim::Optimizer<float>&);
template TrainingProgress load_checkpoint(const std::string&, Module<double>&, optim::Optimizer<double>&);

}  // namespace tapegrad::train
