#include <tapegrad/nn/serialize.hpp>

namespace tapegrad::nn {

template <class T>
void add_state(io::npz::Members& members, const std::string& prefix, const StateDict<T>& state) {
    for (const auto& [name, value] : state) members[prefix + name] = io::npz::to_npy(value);
}

template <class T>
StateDict<T> extract_state(const io::npz::Members& members, const std::string& prefix, const std::string& path) {
    StateDict<T> state;
    for (const auto& [name, bytes] : members)
        if (name.compare(0, prefix.size(), prefix) == 0)
            state.emplace(name.substr(prefix.size()),
                          io::npz::from_npy<T>(bytes, "'" + path + "', parameter '" + name + "'"));
    return state;
}

template <class T>
void save(const Module<T>& module, const std::string& path) {
    io::npz::Members members;
    add_state(members, "", module.state_dict());
    io::npz::write(path, members);
}

template <class T>
void load(Module<T>& module, const std::string& path) {
    // The module's parameters are what the file may hold: each member's dtype
    // and shape are checked from its header before its data is inflated.
    io::npz::ReadOptions expected;
    expected.others(false);
    for (const auto& [name, value] : module.state_dict())
        expected.expect(name, io::npz::dtype_of<T>(), {value.shape().begin(), value.shape().end()});
    const StateDict<T> state = extract_state<T>(io::npz::read(path, expected), "", path);
    try {
        module.load_state(state);
    } catch (const Error& e) {
        throw Error("'" + path + "': " + e.what());
    }
}

#define TAPEGRAD_SERIALIZE_INSTANTIATE(T)                                                     \
    template void save(const Module<T>&, const std::string&);                                 \
    template void load(Module<T>&, const std::string&);                                       \
    template void add_state(io::npz::Members&, const std::string&, const StateDict<T>&);          \
    template StateDict<T> extract_state(const io::npz::Members&, const std::string&, const std::string&);
TAPEGRAD_SERIALIZE_INSTANTIATE(float)
TAPEGRAD_SERIALIZE_INSTANTIATE(double)

}  // namespace tapegrad::nn
