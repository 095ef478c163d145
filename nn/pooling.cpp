#include <tapegrad/nn/pooling.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

namespace {

// PyTorch refuses padding over half the kernel when the layer is built; so
// does tapegrad, rather than at the first forward.
void check_padding(const char* layer, Size2 kernel, Size2 padding) {
    if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
        throw Error(std::string(layer) + ": padding " + size2_str(padding) + " must be at most half the kernel " +
                    size2_str(kernel));
}

// A size as PyTorch prints a pooling layer's: one number when both agree.
std::string size_text(Size2 s) { return s.h == s.w ? std::to_string(s.h) : size2_str(s); }

Size2 resolved_stride(Size2 stride, Size2 kernel) { return stride == Size2() ? kernel : stride; }

}  // namespace

template <class T>
MaxPool2d<T>::MaxPool2d(const MaxPool2dOptions& options) : options_(options) {
    check_padding("MaxPool2d", options_.kernel_size(), options_.padding());
}

template <class T>
Tensor<T> MaxPool2d<T>::forward(const Tensor<T>& input) {
    const MaxPool2dOptions& o = options_;
    return max_pool2d(input, o.kernel_size(), o.stride(), o.padding(), o.dilation());
}

template <class T>
std::string MaxPool2d<T>::extra_repr() const {
    const MaxPool2dOptions& o = options_;
    return "kernel_size=" + size_text(o.kernel_size()) + ", stride=" +
           size_text(resolved_stride(o.stride(), o.kernel_size())) + ", padding=" + size_text(o.padding()) +
           ", dilation=" + size_text(o.dilation());
}

template <class T>
AvgPool2d<T>::AvgPool2d(const AvgPool2dOptions& options) : options_(options) {
    check_padding("AvgPool2d", options_.kernel_size(), options_.padding());
}

template <class T>
Tensor<T> AvgPool2d<T>::forward(const Tensor<T>& input) {
    const AvgPool2dOptions& o = options_;
    return avg_pool2d(input, o.kernel_size(), o.stride(), o.padding(), o.count_include_pad());
}

template <class T>
std::string AvgPool2d<T>::extra_repr() const {
    const AvgPool2dOptions& o = options_;
    return "kernel_size=" + size_text(o.kernel_size()) + ", stride=" +
           size_text(resolved_stride(o.stride(), o.kernel_size())) + ", padding=" + size_text(o.padding()) +
           (o.count_include_pad() ? "" : ", count_include_pad=false");
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;
template class AvgPool2d<float>;
template class AvgPool2d<double>;

}  // namespace tapegrad::nn
