// The backward engine: a reverse topological walk over the recorded graph.
#include <tapegrad/autograd/tape.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
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

// Where each leaf reached by one backward pass sits in that pass's order: an
// open-addressing hash table owned by the pass, inline while small (a model's
// parameters; no allocation). A leaf (a parameter) may be reached by passes
// running on other threads at the same time, so unlike the interior nodes,
// which belong to one graph and one thread, it carries no scratch of the pass
// (visit_epoch, backward_slot) in itself.
template <class T>
class LeafSlots {
public:
    LeafSlots() = default;
    LeafSlots(const LeafSlots&) = delete;
    LeafSlots& operator=(const LeafSlots&) = delete;

    // Stores `slot` for `leaf` and returns true, or returns false if it has one.
    bool add(const TensorImpl<T>* leaf, std::size_t slot) {
        if (2 * (count_ + 1) > size_) grow();
        Entry& e = probe(leaf);
        if (e.leaf) return false;
        e = {leaf, slot};
        ++count_;
        return true;
    }
    std::size_t slot(const TensorImpl<T>* leaf) const { return probe(leaf).slot; }
    // f(leaf, slot) for every leaf, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < size_; ++i)
            if (table_[i].leaf) f(const_cast<TensorImpl<T>*>(table_[i].leaf), table_[i].slot);
    }

private:
    struct Entry {
        const TensorImpl<T>* leaf = nullptr;
        std::size_t slot = 0;
    };
    // The entry of `leaf`, or the empty one where it belongs. Fibonacci
    // hashing: the high bits of the product, as the low bits of the address
    // of a 64-byte aligned block are all zero.
    Entry& probe(const TensorImpl<T>* leaf) const {
        const std::uint64_t key = std::uint64_t(reinterpret_cast<std::uintptr_t>(leaf));
        std::size_t i = std::size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
        while (table_[i].leaf && table_[i].leaf != leaf) i = (i + 1) & (size_ - 1);
        return table_[i];
    }
    void grow() {
        std::vector<Entry> old(table_, table_ + size_);
        heap_.assign(2 * size_, Entry{});
        table_ = heap_.data();
        size_ *= 2;
        --shift_;
        for (const Entry& e : old)
            if (e.leaf) probe(e.leaf) = e;
    }
    static constexpr std::size_t inline_size = 16;  // a power of two, at most half used
    Entry inline_[inline_size];
    std::vector<Entry> heap_;
    Entry* table_ = inline_;
    std::size_t size_ = inline_size;
    unsigned shift_ = 64 - 4;  // 64 - log2(size_)
    std::size_t count_ = 0;
};

// Post-order DFS with an explicit stack (a 100,000-op chain must not overflow
// the call stack). The order lists every tensor after all the tensors it was
// computed from; each interior node's backward_slot is set to its position,
// each leaf's position is kept in `leaves`.
template <class T>
std::vector<Tensor<T>> topological_order(const ImplPtr<T>& root, LeafSlots<T>& leaves) {
    std::vector<Tensor<T>> order;
    if (!root->grad_fn) {  // backward from a leaf: its gradient is the seed
        leaves.add(root.get(), 0);
        order.emplace_back(root);
        return order;
    }
    const std::uint64_t epoch = ++walk_epoch;
    struct Frame {
        ImplPtr<T> impl;
        std::size_t next_input;
    };
    std::vector<Frame> stack;
    root->visit_epoch = epoch;
    stack.push_back({root, 0});
    while (!stack.empty()) {
        Frame& frame = stack.back();
        const GradFn<T>& fn = *frame.impl->grad_fn;
        if (fn.released)
            throw Error("backward: the graph behind '" + std::string(fn.name) +
                        "' was freed by an earlier backward; pass retain_graph=true to that backward "
                        "to go through the graph twice");
        if (frame.next_input < fn.inputs.size()) {
            const ImplPtr<T>& input = fn.inputs[frame.next_input++].impl();
            if (!input->requires_grad) continue;
            if (!input->grad_fn) {
                // A leaf has no inputs: it is finished as soon as it is seen.
                if (leaves.add(input.get(), order.size())) order.emplace_back(input);
            } else if (input->visit_epoch != epoch) {
                input->visit_epoch = epoch;
                stack.push_back({input, 0});
            }
            continue;
        }
        frame.impl->backward_slot = order.size();
        order.emplace_back(std::move(frame.impl));
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

// Several threads may run backward passes that reach the same leaf (a model
// shared by threads); each pass writes its leaves' gradients in one short
// critical section at its end. The locks are a fixed table indexed by the
// leaf's address, not a mutex per tensor: no tensor grows, and a pass takes
// at most 64 locks, in ascending order, so two passes cannot deadlock.
constexpr std::size_t leaf_lock_count = 64;
struct alignas(64) LeafLock {
    std::mutex mutex;
};
LeafLock leaf_locks[leaf_lock_count];

std::size_t leaf_lock_index(const void* leaf) {
    return std::size_t((std::uint64_t(reinterpret_cast<std::uintptr_t>(leaf)) * 0x9E3779B97F4A7C15ull) >> 58);
}

// Holds the locks of a set of leaves (a bit per lock) for its lifetime.
class LeafLockSet {
public:
    explicit LeafLockSet(std::uint64_t locks) : locks_(locks) {
        static_assert(leaf_lock_count == 64, "one bit per lock");
        for (std::uint64_t rest = locks_; rest; rest &= rest - 1) leaf_locks[__builtin_ctzll(rest)].mutex.lock();
    }
    ~LeafLockSet() {
        for (std::uint64_t rest = locks_; rest; rest &= rest - 1) leaf_locks[__builtin_ctzll(rest)].mutex.unlock();
    }
    LeafLockSet(const LeafLockSet&) = delete;
    LeafLockSet& operator=(const LeafLockSet&) = delete;

private:
    std::uint64_t locks_;
};

// Adds the pass's gradients of the leaves (grads[slot]) to their .grad, all
// or none: the new totals are computed first, into `grads` (which may throw,
// e.g. out of memory, when no leaf has changed yet), then stored, which
// cannot fail.
template <class T>
void commit_leaf_gradients(const LeafSlots<T>& leaves, std::vector<Tensor<T>>& grads, bool create_graph) {
    std::uint64_t locks = 0;
    leaves.for_each([&](const TensorImpl<T>* leaf, std::size_t slot) {
        if (grads[slot].defined()) locks |= std::uint64_t(1) << leaf_lock_index(leaf);
    });
    if (!locks) return;
    LeafLockSet locked(locks);
    leaves.for_each([&](TensorImpl<T>* leaf, std::size_t slot) {
        Tensor<T> g = std::move(grads[slot]);
        if (!g.defined()) return;
        Tensor<T> total(leaf->grad);
        if (!total.defined() && !create_graph && !exclusively_owned(g)) g = g.detach();
        accumulate(total, std::move(g), create_graph);
        grads[slot] = std::move(total);
    });
    leaves.for_each([&](TensorImpl<T>* leaf, std::size_t slot) {
        if (grads[slot].defined()) leaf->grad = grads[slot].impl();
    });
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

    // A pass that throws (an anomaly, a shape error in a gradient formula, out
    // of memory) must leave every .grad and the graph as they were: the
    // gradients are computed into `grads`, and stored into the leaves, and
    // the graph freed, only once all of them have been computed.
    LeafSlots<T> leaf_slots;
    const std::vector<Tensor<T>> order = topological_order(root.impl(), leaf_slots);
    std::vector<Tensor<T>> grads(order.size());
    grads.back() = seed;

    // Gradient formulas are tensor ops: recorded only when create_graph asks.
    NoGradGuard no_grad;

    for (std::size_t i = order.size(); i-- > 0;) {
        Tensor<T> g = std::move(grads[i]);
        if (!g.defined()) continue;
        const Tensor<T>& output = order[i];
        TensorImpl<T>* const impl = output.impl().get();
        // A plain pointer: `order` owns the node, and with it `fn`, until the end.
        GradFn<T>* const fn = impl->grad_fn.get();
        if (!fn) {  // a leaf: its gradient is complete, to be stored at the end
            grads[i] = std::move(g);
            continue;
        }
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
            const TensorImpl<T>* in = input.impl().get();
            const std::size_t slot = in->grad_fn ? in->backward_slot : leaf_slots.slot(in);
            accumulate(grads[slot], std::move(input_grads[k]), create_graph);
        }
    }

    commit_leaf_gradients(leaf_slots, grads, create_graph);
    if (!retain_graph) {
        for (const Tensor<T>& node : order) {
            if (GradFn<T>* fn = node.impl()->grad_fn.get()) {
                fn->inputs.clear();
                fn->backward = nullptr;
                fn->released = true;
            }
        }
    }
}

template Tensor<float> record(const char*, Array<float>, TensorList<float>, BackwardFn<float>);
template Tensor<double> record(const char*, Array<double>, TensorList<double>, BackwardFn<double>);
template void run_backward(const Tensor<float>&, const Tensor<float>&, bool, bool);
template void run_backward(const Tensor<double>&, const Tensor<double>&, bool, bool);

}  // namespace tapegrad
