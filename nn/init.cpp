#include <tapegrad/nn/init.hpp>

#include <cmath>

namespace tapegrad::nn {

template <class T>
Tensor<T> init_weight(Init init, std::size_t fan_in, std::size_t fan_out, std::uint64_t seed) {
    const Shape shape{fan_out, fan_in};
    const double in = double(fan_in), both = double(fan_in + fan_out);
    auto uniform = [&](double bound) { return Tensor<T>::uniform(shape, T(-bound), T(bound), seed); };
    auto normal = [&](double stddev) { return Tensor<T>::normal(shape, T(0), T(stddev), seed); };
    switch (init) {
        case Init::PyTorchDefault: return uniform(1.0 / std::sqrt(in));  // kaiming_uniform_(a = sqrt(5))
        case Init::XavierUniform: return uniform(std::sqrt(6.0 / both));
        case Init::XavierNormal: return normal(std::sqrt(2.0 / both));
        case Init::KaimingUniform: return uniform(std::sqrt(6.0 / in));
        case Init::KaimingNormal: return normal(std::sqrt(2.0 / in));
        case Init::StandardNormal: return normal(1.0);
    }
    throw Error("init_weight: unknown initialiser");
}

template <class T>
Tensor<T> init_bias(Init init, std::size_t fan_in, std::size_t fan_out, std::uint64_t seed) {
    const Shape shape{fan_out};
    switch (init) {
        case Init::PyTorchDefault: {
            const T bound = T(1.0 / std::sqrt(double(fan_in)));
            return Tensor<T>::uniform(shape, -bound, bound, seed);
        }
        case Init::StandardNormal: return Tensor<T>::normal(shape, T(0), T(1), seed);
        default: return Tensor<T>::zeros(shape);
    }
}

const char* init_name(Init init) {
    switch (init) {
        case Init::PyTorchDefault: return "pytorch_default";
        case Init::XavierUniform: return "xavier_uniform";
        case Init::XavierNormal: return "xavier_normal";
        case Init::KaimingUniform: return "kaiming_uniform";
        case Init::KaimingNormal: return "kaiming_normal";
        case Init::StandardNormal: return "standard_normal";
    }
    return "unknown";
}

template Tensor<float> init_weight(Init, std::size_t, std::size_t, std::uint64_t);
template Tensor<double> init_weight(Init, std::size_t, std::size_t, std::uint64_t);
template Tensor<float> init_bias(Init, std::size_t, std::size_t, std::uint64_t);
template Tensor<double> init_bias(Init, std::size_t, std::size_t, std::uint64_t);

}  // namespace tapegrad::nn
