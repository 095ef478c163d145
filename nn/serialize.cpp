#include <tapegrad/nn/serialize.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include <tapegrad/autograd/options.hpp>

namespace tapegrad::nn {

namespace {
// An integer buffer's values as int64, as PyTorch keeps num_batches_tracked.
// Every whole number of magnitude below 2^63 converts exactly.
template <class T>
xt::xarray<std::int64_t> to_int64(const xt::xarray<T>& values, const std::string& name) {
    constexpr double limit = 9223372036854775808.0;  // 2^63
    xt::xarray<std::int64_t> integers = xt::xarray<std::int64_t>::from_shape(values.shape());
    auto out = integers.begin();
    for (const T v : values) {
        if (!(std::floor(v) == v && std::fabs(double(v)) < limit))
            throw Error("buffer '" + name + "' counts in whole numbers, got " + detail::option_value_text(double(v)));
        *out++ = static_cast<std::int64_t>(v);
    }
    return integers;
}

// Back to T, refusing what T cannot hold exactly: float holds every integer up
// to 2^24, double up to 2^53; a larger count would come back rounded.
template <class T>
xt::xarray<T> from_int64(const xt::xarray<std::int64_t>& integers, const std::string& where) {
    constexpr std::int64_t limit = std::int64_t(1) << std::numeric_limits<T>::digits;
    xt::xarray<T> values = xt::xarray<T>::from_shape(integers.shape());
    auto out = values.begin();
    for (const std::int64_t v : integers) {
        if (v > limit || v < -limit)
            throw Error(where + ": " + std::to_string(v) + " is not exactly representable in " +
                        (sizeof(T) == 4 ? "float32" : "float64") + " (whole numbers up to " + std::to_string(limit) +
                        ")");
        *out++ = static_cast<T>(v);
    }
    return values;
}
}  // namespace

template <class T>
void add_state(io::npz::Members& members, const std::string& prefix, const StateDict<T>& state,
               const std::set<std::string>& integers) {
    for (const auto& [name, value] : state)
        members[prefix + name] = integers.count(name) ? io::npz::to_npy(to_int64(value, name)) : io::npz::to_npy(value);
}

template <class T>
StateDict<T> extract_state(const io::npz::Members& members, const std::string& prefix, const std::string& path,
                           const std::set<std::string>& integers) {
    StateDict<T> state;
    for (const auto& [name, bytes] : members)
        if (name.compare(0, prefix.size(), prefix) == 0) {
            const std::string key = name.substr(prefix.size());
            const std::string where = "'" + path + "', entry '" + name + "'";
            state.emplace(key, integers.count(key) ? from_int64<T>(io::npz::from_npy<std::int64_t>(bytes, where), where)
                                                   : io::npz::from_npy<T>(bytes, where));
        }
    return state;
}

template <class T>
void save(const Module<T>& module, const std::string& path) {
    io::npz::Members members;
    try {
        add_state(members, "", module.state_dict(), module.integer_buffer_names());
    } catch (const Error& e) {
        throw Error("'" + path + "': " + e.what());
    }
    io::npz::write(path, members);
}

template <class T>
void load(Module<T>& module, const std::string& path) {
    // The module's parameters and buffers are what the file may hold: each
    // member's dtype and shape are checked from its header before its data is
    // inflated.
    const std::set<std::string> integers = module.integer_buffer_names();
    io::npz::ReadOptions expected;
    expected.others(false);
    for (const auto& [name, value] : module.state_dict())
        expected.expect(name, integers.count(name) ? io::npz::dtype_of<std::int64_t>() : io::npz::dtype_of<T>(),
                        {value.shape().begin(), value.shape().end()});
    const StateDict<T> state = extract_state<T>(io::npz::read(path, expected), "", path, integers);
    try {
        module.load_state(state);
    } catch (const Error& e) {
        throw Error("'" + path + "': " + e.what());
    }
}

#define TAPEGRAD_SERIALIZE_INSTANTIATE(T)                                                     \
    template void save(const Module<T>&, const std::string&);                                 \
    template void load(Module<T>&, const std::string&);                                       \
    template void add_state(io::npz::Members&, const std::string&, const StateDict<T>&,          \
                            const std::set<std::string>&);                                      \
    template StateDict<T> extract_state(const io::npz::Members&, const std::string&, const std::string&, \
                                        const std::set<std::string>&);
TAPEGRAD_SERIALIZE_INSTANTIATE(float)
TAPEGRAD_SERIALIZE_INSTANTIATE(double)

}  // namespace tapegrad::nn
