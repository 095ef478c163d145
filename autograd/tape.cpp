// The backward engine: a reverse topological walk over the recorded graph.
#include <tapegrad/autograd/tape.hpp>

#include <atomic>
#include <cmath>
#include <string>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

namespace {
thread_local bool grad_mode = true;
thread_local bool anomaly_mode = false;
std::atomic<std::size_t> live_nodes{0};
}  // namespace

namespace detail {
void count_node(int delta) {
    if (delta > 0)
        live_nodes.fetch_add(1, std::memory_order_relaxed);
    else
        live_nodes.fetch_sub(1, std::memory_order_relaxed);
}
}  // namespace detail

std::size_t live_graph_nodes() { return live_nodes.load(); }

bool grad_enabled() { return grad_mode; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }
DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_mode) { anomaly_mode = true; }
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_mode = previous_; }
bool anomaly_detection_enabled() { return anomaly_mode; }

namespace {
template <class T>
bool all_finite(const Array<T>& values) {
    for (T v : values)
        if (!std::isfinite(v)) return false;
    return true;
}
}  // namespace

EnableGradGuard::EnableGradGuard() : previous_(grad_mode) { grad_mode = true; }
EnableGradGuard::~EnableGradGuard() { grad_mode = previous_; }

template <class T>
Tensor<T> record(const char* name, Array<T> value, TensorList<T> inputs, BackwardFn<T> backward) {
    if (anomaly_mode && !all_finite(value))
        throw Error(std::string("anomaly: '") + name + "' produced NaN or Inf in its output of shape " +
                    shape_str(Shape(value.shape().begin(), value.shape().end())));
    Tensor<T> out(std::move(value));
    if (!grad_mode) return out;
    bool needed = false;
    for (const auto& in : inputs) needed = needed || in.requires_grad();
    if (!needed) return out;
    out.impl()->requires_grad = true;
    out.impl()->grad_fn =
        std::allocate_shared<GradFn<T>>(memory::BlockAllocator<GradFn<T>>(), name, std::move(inputs), std::move(backward));
    return out;
}

namespace {

template <class T>
using ImplPtr = std::shared_ptr<TensorImpl<T>>;

std::atomic<std::uint64_t> walk_epoch{0};

// Post-order DFS with an explicit stack (a 100,000-op chain must not overflow
// the call stack). The result lists every tensor after all the tensors it was
// computed from; each impl's backward_slot is set to its position.
template <class T>
std::vector<ImplPtr<T>> topological_order(const ImplPtr<T>& root) {
    const std::uint64_t epoch = ++walk_epoch;
    struct Frame {
        ImplPtr<T> impl;
        std::size_t next_input;
    };
    std::vector<ImplPtr<T>> order;
    std::vector<Frame> stack;
    root->visit_epoch = epoch;
    stack.push_back({root, 0});
    while (!stack.empty()) {
        Frame& frame = stack.back();
        const auto& fn = frame.impl->grad_fn;
        if (fn && fn->released)
            throw Error("backward: the graph behind '" + std::string(fn->name) +
                        "' was freed by an earlier backward; pass retain_graph=true to that backward "
                        "to go through the graph twice");
        if (fn && frame.next_input < fn->inputs.size()) {
            const ImplPtr<T>& input = fn->inputs[frame.next_input++].impl();
            if (input->requires_grad && input->visit_epoch != epoch) {
                input->visit_epoch = epoch;
                stack.push_back({input, 0});
            }
            continue;
        }
        frame.impl->backward_slot = order.size();
        order.push_back(std::move(frame.impl));
        stack.pop_back();
    }
    return order;
}

template <class T>
bool exclusively_owned(const Tensor<T>& t) {
    return t.impl().use_count() == 1 && !t.impl()->grad_fn;
}

// total += g, in place when nobody else can see `total`.
template <class T>
void accumulate(Tensor<T>& total, Tensor<T> g, bool create_graph) {
    if (!total.defined()) {
        total = std::move(g);
    } else if (create_graph) {
        EnableGradGuard recording;  // the sum is part of the recorded backward pass
        total = add(total, g);
    } else if (exclusively_owned(total)) {
        total.data_mut() += g.data();
    } else {
        total = Tensor<T>(Array<T>(total.data() + g.data()));
    }
}

}  // namespace

template <class T>
void run_backward(const Tensor<T>& root, const Tensor<T>& grad_output, bool retain_graph, bool create_graph) {
    if (!root.defined()) throw Error("backward: called on an undefined tensor");
    // As in PyTorch: gradients recorded by create_graph refer to the forward
    // graph (an op's saved output), so it must outlive this pass.
    retain_graph = retain_graph || create_graph;
    if (!root.requires_grad())
        throw Error("backward: the tensor does not require a gradient and was not computed from one that does");
    Tensor<T> seed = grad_output;
    if (!seed.defined()) {
        if (root.size() != 1)
            throw Error("backward: output of shape " + shape_str(root.shape()) +
                        " is not a scalar; pass a gradient of that shape to backward()");
        seed = Tensor<T>::ones(root.shape());
    } else if (seed.shape() != root.shape()) {
        throw Error("backward: gradient of shape " + shape_str(seed.shape()) + " for an output of shape " +
                    shape_str(root.shape()));
    } else if (!create_graph) {
        seed = seed.detach();  // never accumulate into the caller's tensor
    }

    std::vector<ImplPtr<T>> order = topological_order(root.impl());
    std::vector<Tensor<T>> grads(order.size());
    grads.back() = seed;

    // Gradient formulas are tensor ops: recorded only when create_graph asks.
    NoGradGuard no_grad;

    for (std::size_t i = order.size(); i-- > 0;) {
        ImplPtr<T> impl = std::move(order[i]);
        Tensor<T> g = std::move(grads[i]);
        if (!g.defined()) continue;
        // A plain pointer: `impl` (then `output` below) owns its GradFn for the
        // whole iteration; a shared_ptr copy would cost two atomic updates.
        GradFn<T>* const fn = impl->grad_fn.get();
        if (!fn) {  // a leaf: keep its gradient
            Tensor<T> total(impl->grad);
            if (!total.defined() && !create_graph && !exclusively_owned(g)) g = g.detach();
            accumulate(total, std::move(g), create_graph);
            impl->grad = total.impl();
            continue;
        }
        // The output handle for the gradient formula takes over `impl` (moved,
        // not copied) and, like it, keeps the node and `fn` alive until the
        // end of this iteration.
        const Tensor<T> output(std::move(impl));
        TensorList<T> input_grads;
        {
            std::unique_ptr<EnableGradGuard> recording;
            if (create_graph) recording = std::make_unique<EnableGradGuard>();
            try {
                input_grads = fn->backward(fn->inputs, output, g);
            } catch (const Error& e) {
                // Say which gradient formula failed, not only the op inside it.
                throw Error("backward of '" + std::string(fn->name) + "': " + e.what());
            }
        }
        if (input_grads.size() != fn->inputs.size())
            throw Error("backward of '" + std::string(fn->name) + "': " + std::to_string(input_grads.size()) +
                        " gradients for " + std::to_string(fn->inputs.size()) + " inputs");
        for (std::size_t k = 0; k < fn->inputs.size(); ++k) {
            const Tensor<T>& input = fn->inputs[k];
            if (!input.requires_grad() || !input_grads[k].defined()) continue;
            // Compared as xtensor's own shapes: Tensor::shape() would build
            // two std::vectors per input on every step of the walk.
            if (input_grads[k].data().shape() != input.data().shape())
                throw Error("backward of '" + std::string(fn->name) + "': gradient of shape " +
                            shape_str(input_grads[k].shape()) + " for input " + std::to_string(k) + " of shape " +
                            shape_str(input.shape()));
            if (anomaly_mode && !all_finite(input_grads[k].data()))
                throw Error("anomaly: backward of '" + std::string(fn->name) + "' produced NaN or Inf in the gradient for input " +
                            std::to_string(k) + " of shape " + shape_str(input.shape()));
            accumulate(grads[input.impl()->backward_slot], std::move(input_grads[k]), create_graph);
        }
        if (!retain_graph) {
            fn->inputs.clear();
            fn->backward = nullptr;
            fn->released = true;
        }
    }
}

template Tensor<float> record(const char*, Array<float>, TensorList<float>, BackwardFn<float>);
template Tensor<double> record(const char*, Array<double>, TensorList<double>, BackwardFn<double>);
template void run_backward(const Tensor<float>&, const Tensor<float>&, bool, bool);
template void run_backward(const Tensor<double>&, const Tensor<double>&, bool, bool);

}  // namespace tapegrad
