#include <tapegrad/autograd/graphviz.hpp>

#include <sstream>
#include <unordered_map>

#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

template <class T>
std::string to_dot(const Tensor<T>& root) {
    if (!root.defined()) throw Error("to_dot: undefined tensor");
    std::ostringstream os;
    os << "digraph tapegrad {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n";
    std::unordered_map<const TensorImpl<T>*, std::size_t> ids;
    std::vector<const TensorImpl<T>*> stack{root.impl().get()};
    ids[root.impl().get()] = 0;
    // Iterative, like the backward engine: graphs can be very deep.
    while (!stack.empty()) {
        const TensorImpl<T>* impl = stack.back();
        stack.pop_back();
        const std::size_t id = ids[impl];
        Shape shape(impl->data.shape().begin(), impl->data.shape().end());
        const char* label = impl->grad_fn ? impl->grad_fn->name : (impl->requires_grad ? "leaf (requires_grad)" : "constant");
        os << "  n" << id << " [label=\"" << label << "\\n" << shape_str(shape) << "\"";
        if (!impl->grad_fn) os << ", style=rounded";
        os << "];\n";
        if (!impl->grad_fn) continue;
        if (impl->grad_fn->released) {
            os << "  n" << id << "_freed [label=\"(freed by backward)\", shape=plaintext];\n";
            os << "  n" << id << "_freed -> n" << id << ";\n";
        }
        for (const auto& input : impl->grad_fn->inputs) {
            const TensorImpl<T>* in = input.impl().get();
            auto [it, fresh] = ids.emplace(in, ids.size());
            if (fresh) stack.push_back(in);
            os << "  n" << it->second << " -> n" << id << ";\n";
        }
    }
    os << "}\n";
    return os.str();
}

template std::string to_dot(const Tensor<float>&);
template std::string to_dot(const Tensor<double>&);

}  // namespace tapegrad
