// The backward engine: a reverse topological walk over the recorded graph
// (Tensor::backward and grad(), tape.hpp), and the leaf gradient hooks it
// calls. The tape's modes and recording are autograd/tape.cpp.
#include <tapegrad/autograd/tape.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <tapegrad/autograd/engine/leaf_slots.hpp>
#include <tapegrad/autograd/engine/recycled.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/same_shape.hpp>

namespace tapegrad {

namespace {
// Set while a leaf gradient hook runs on this thread. A pass numbers the
// interior nodes it walks (backward_slot) and reads those numbers until it
// ends, so a pass started from a hook over a graph sharing nodes with the
// running one renumbered them: the running pass sent gradients to the wrong
// tensors, silently. Such a pass is refused instead.
thread_local bool in_leaf_gradient_hook = false;

// Passes started on this thread, and those running on it now. A gradient
// formula may start a pass of its own (grad() over a recomputation, as
// checkpointing does) over nodes of the running pass's graph: it numbers
// those nodes for itself (backward_slot), so the running pass numbers them
// again when its formula returns; and it keeps the graph (as retain_graph),
// which the running pass still walks.
thread_local std::uint64_t passes_started = 0;
thread_local int passes_running = 0;

void refuse_in_leaf_gradient_hook(const char* who) {
    if (in_leaf_gradient_hook)
        throw Error(std::string(who) + ": called from a leaf gradient hook (LeafGradientHookGuard); a pass cannot "
                                       "start while another one runs on the same thread");
}

// The hook of the innermost LeafGradientHookGuard alive on this thread.
template <class T>
thread_local const LeafGradientHook<T>* leaf_gradient_hook = nullptr;
}  // namespace

template <class T>
LeafGradientHookGuard<T>::LeafGradientHookGuard(LeafGradientHook<T> hook)
    : hook_(std::move(hook)), previous_(leaf_gradient_hook<T>) {
    leaf_gradient_hook<T> = &hook_;
}
template <class T>
LeafGradientHookGuard<T>::~LeafGradientHookGuard() {
    leaf_gradient_hook<T> = previous_;
}
template <class T>
const LeafGradientHook<T>* current_leaf_gradient_hook() {
    return leaf_gradient_hook<T>;
}
template class LeafGradientHookGuard<float>;
template class LeafGradientHookGuard<double>;
template const LeafGradientHook<float>* current_leaf_gradient_hook<float>();
template const LeafGradientHook<double>* current_leaf_gradient_hook<double>();

namespace {

using detail::LeafSlots;
using detail::Recycled;

std::atomic<std::uint64_t> walk_epoch{0};

// Post-order DFS with an explicit stack (a 100,000-op chain must not overflow
// the call stack), from each root in turn. The order lists every tensor after
// all the tensors it was computed from; each interior node's backward_slot is
// set to its position, each leaf's position is kept in `leaves`.
//
// The order holds plain pointers to the handles through which the walk
// reached each tensor (a root, or an entry of a GradFn's inputs), not copies
// of them: a copy is two atomic reference-count updates per node, a visible
// part of a tiny op's cost. Those handles live as long as the graph, which
// the roots keep alive, until release_graph() clears the inputs.
template <class T>
void topological_order(const TensorList<T>& roots, LeafSlots<T>& leaves, std::vector<const Tensor<T>*>& order) {
    const std::uint64_t epoch = ++walk_epoch;
    struct Frame {
        const Tensor<T>* tensor;
        std::size_t next_input;
    };
    Recycled<std::vector<Frame>> recycled_stack;
    std::vector<Frame>& stack = *recycled_stack;
    auto reach = [&](const Tensor<T>& t) {
        TensorImpl<T>* const impl = t.impl().get();
        if (!impl->grad_fn) {
            // A leaf has no inputs: it is finished as soon as it is seen.
            if (leaves.add(impl, order.size())) order.push_back(&t);
        } else if (impl->visit_epoch != epoch) {
            impl->visit_epoch = epoch;
            stack.push_back({&t, 0});
        }
    };
    for (const Tensor<T>& root : roots) {
        reach(root);
        while (!stack.empty()) {
            Frame& frame = stack.back();
            const GradFn<T>& fn = *frame.tensor->impl()->grad_fn;
            if (fn.released)
                throw Error("backward: the graph behind '" + std::string(fn.name) +
                            "' was freed by an earlier backward; pass retain_graph=true to that backward "
                            "to go through the graph twice");
            if (frame.next_input < fn.inputs.size()) {
                const Tensor<T>& input = fn.inputs[frame.next_input++];
                if (input.impl()->requires_grad) reach(input);
                continue;
            }
            frame.tensor->impl()->backward_slot = order.size();
            order.push_back(frame.tensor);
            stack.pop_back();
        }
    }
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
    } else if (exclusively_owned(total) && detail::shapes_equal(total.data().shape(), g.data().shape())) {
        // In place, by xtensor's loop for equal shapes: `+=` would evaluate
        // into a temporary array first, in case the operands overlap.
        xt::assign_data(total.data_mut(), total.data() + g.data(), /*trivial_broadcast=*/true);
    } else {
        total = detail::evaluate<T>(total.data() + g.data(), total.data(), g.data());
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

// One backward pass: the graph behind its roots in topological order, and the
// gradient of each of its tensors (by position in the order) as it is computed.
// Shared by Tensor::backward, which adds the leaves' gradients to their
// .grad, and grad(), which returns the gradients of chosen tensors.
template <class T>
class Pass {
public:
    explicit Pass(const TensorList<T>& roots)
        : roots_(roots), nested_(passes_running > 0) {
        ++passes_started;
        topological_order(roots_, leaves_, order_);
        grads_.resize(order_.size());
        ++passes_running;
    }
    ~Pass() { --passes_running; }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;

    // Where `t` sits in the order, or npos when the pass does not reach it.
    static constexpr std::size_t npos = std::size_t(-1);
    std::size_t slot_of(const Tensor<T>& t) const {
        const TensorImpl<T>* impl = t.impl().get();
        const std::size_t slot = impl->grad_fn ? impl->backward_slot : leaves_.slot(impl);
        // The scratch slot of a tensor this pass did not reach is stale: check it.
        return slot < order_.size() && order_[slot]->impl().get() == impl ? slot : npos;
    }
    std::size_t size() const { return order_.size(); }
    Tensor<T>& grad(std::size_t slot) { return grads_[slot]; }

    // Runs the gradient formulas from the roots (whose gradients are set)
    // down to the leaves. Every leaf's gradient stays in grad(slot); an
    // interior tensor's stays only if keep[slot] (and is freed as soon as it
    // has been used otherwise). With `keep` given, only the formulas on a
    // path to a kept tensor run: grad() computes what it returns and no more.
    void run(bool create_graph, const std::vector<char>& keep = {}) {
        const bool pruned = !keep.empty();  // else (backward) every formula runs, with no bookkeeping
        const std::vector<char> needed = pruned ? needed_for(keep) : std::vector<char>();
        // Gradient formulas are tensor ops: recorded only when create_graph asks.
        NoGradGuard no_grad;
        const LeafGradientHook<T>* const hook = pruned ? nullptr : leaf_gradient_hook<T>;
        for (std::size_t i = order_.size(); i-- > 0;) {
            // A plain pointer: the roots own the node, and with it `fn`, until the end.
            GradFn<T>* const fn = order_[i]->impl()->grad_fn.get();
            // A leaf's gradient is complete when the walk reaches it: every
            // tensor computed from it comes after it in the order. It stays.
            if (!fn && hook && grads_[i].defined()) {
                in_leaf_gradient_hook = true;
                struct Leave {
                    ~Leave() { in_leaf_gradient_hook = false; }
                } leave;
                (*hook)(*order_[i], grads_[i]);
            }
            if (!fn || !grads_[i].defined()) continue;
            const Tensor<T> g = pruned && keep[i] ? grads_[i] : std::move(grads_[i]);
            if (pruned && !leads_to_needed(*fn, needed)) continue;
            Gradients<T> input_grads;
            {
                std::unique_ptr<EnableGradGuard> recording;
                if (create_graph) recording = std::make_unique<EnableGradGuard>();
                try {
                    const std::uint64_t started = passes_started;
                    input_grads = fn->backward(*order_[i], g);
                    if (passes_started != started) number_nodes();  // a pass of the formula's renumbered them
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
                if (!detail::shapes_equal(input_grads[k].data().shape(), input.data().shape()))
                    throw Error("backward of '" + std::string(fn->name) + "': gradient of shape " +
                                shape_str(input_grads[k].shape()) + " for input " + std::to_string(k) + " of shape " +
                                shape_str(input.shape()));
                detail::check_gradient_anomaly(fn->name, k, input_grads[k]);
                const std::size_t slot = input_slot(input);
                if (!pruned || needed[slot]) accumulate(grads_[slot], std::move(input_grads[k]), create_graph);
            }
        }
    }

    // Adds every leaf's gradient to its .grad (Tensor::backward), all or none.
    void commit_to_leaves(bool create_graph) { commit_leaf_gradients(leaves_, grads_, create_graph); }

    // Frees the graph's saved state, so that a later backward through it throws.
    // Inputs first: clearing a node's inputs may free the handles through
    // which its inputs were reached (order_'s earlier entries), never later ones.
    // Not in a pass started by a gradient formula of a running one: that
    // one still walks the graph, through handles this would free.
    void release_graph() {
        if (nested_) return;
        for (const Tensor<T>* node : order_) {
            if (GradFn<T>* fn = node->impl()->grad_fn.get()) fn->release();
        }
    }

private:
    // Each interior node's backward_slot is its place in this pass's order.
    void number_nodes() {
        for (std::size_t i = 0; i < order_.size(); ++i)
            if (order_[i]->impl()->grad_fn) order_[i]->impl()->backward_slot = i;
    }
    // The slot of an input of a node of the order (always reached).
    std::size_t input_slot(const Tensor<T>& input) const {
        const TensorImpl<T>* in = input.impl().get();
        return in->grad_fn ? in->backward_slot : leaves_.slot(in);
    }
    bool leads_to_needed(const GradFn<T>& fn, const std::vector<char>& needed) const {
        for (const Tensor<T>& input : fn.inputs)
            if (input.requires_grad() && needed[input_slot(input)]) return true;
        return false;
    }
    // A tensor's gradient is needed if it is kept or flows into one that is;
    // the order lists inputs first, so one sweep settles it.
    std::vector<char> needed_for(const std::vector<char>& keep) const {
        std::vector<char> needed = keep;
        for (std::size_t i = 0; i < order_.size(); ++i)
            if (const GradFn<T>* fn = order_[i]->impl()->grad_fn.get())
                needed[i] = needed[i] || leads_to_needed(*fn, needed);
        return needed;
    }

    const TensorList<T> roots_;  // they keep the whole graph, and the handles in order_, alive
    const bool nested_;          // started while another pass runs on this thread
    LeafSlots<T> leaves_;
    Recycled<std::vector<const Tensor<T>*>> order_storage_;
    Recycled<std::vector<Tensor<T>>> grads_storage_;
    std::vector<const Tensor<T>*>& order_ = *order_storage_;
    std::vector<Tensor<T>>& grads_ = *grads_storage_;
};

// The gradient to start from at `output`: `given`, or 1 for a one-element
// output when `given` is undefined; a copy unless create_graph (the pass
// never accumulates into the caller's tensor, and records from it if asked).
template <class T>
Tensor<T> seed_gradient(const char* who, const char* where_to_pass, const Tensor<T>& output, const Tensor<T>& given,
                        bool create_graph) {
    if (!given.defined()) {
        if (output.size() != 1)
            throw Error(std::string(who) + ": output of shape " + shape_str(output.shape()) +
                        " is not a scalar; pass a gradient of that shape " + where_to_pass);
        return Tensor<T>::ones(output.shape());
    }
    if (given.shape() != output.shape())
        throw Error(std::string(who) + ": gradient of shape " + shape_str(given.shape()) + " for an output of shape " +
                    shape_str(output.shape()));
    return create_graph ? given : given.detach();
}

}  // namespace

template <class T>
void run_backward(const Tensor<T>& root, const Tensor<T>& grad_output, bool retain_graph, bool create_graph) {
    if (!root.defined()) throw Error("backward: called on an undefined tensor");
    refuse_in_leaf_gradient_hook("backward");
    // As in PyTorch: gradients recorded by create_graph refer to the forward
    // graph (an op's saved output), so it must outlive this pass.
    retain_graph = retain_graph || create_graph;
    if (!root.requires_grad())
        throw Error("backward: the tensor does not require a gradient and was not computed from one that does");
    Tensor<T> seed = seed_gradient("backward", "to backward()", root, grad_output, create_graph);

    // A pass that throws (an anomaly, a shape error in a gradient formula, out
    // of memory) must leave every .grad and the graph as they were: the
    // gradients are computed into the pass, and stored into the leaves, and
    // the graph freed, only once all of them have been computed.
    Pass<T> pass(TensorList<T>{root});
    pass.grad(pass.size() - 1) = std::move(seed);
    pass.run(create_graph);
    pass.commit_to_leaves(create_graph);
    if (!retain_graph) pass.release_graph();
}

template <class T>
TensorList<T> grad(const TensorList<T>& outputs, const TensorList<T>& inputs, const TensorList<T>& grad_outputs,
                   bool retain_graph, bool create_graph, bool allow_unused) {
    retain_graph = retain_graph || create_graph;  // as in run_backward
    if (outputs.empty()) throw Error("grad: no outputs to differentiate");
    refuse_in_leaf_gradient_hook("grad");
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
        throw Error("grad: " + std::to_string(grad_outputs.size()) + " grad_outputs for " +
                    std::to_string(outputs.size()) + " outputs");
    TensorList<T> seeds;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        if (!outputs[k].requires_grad())
            throw Error("grad: output " + std::to_string(k) +
                        (outputs[k].defined() ? " does not require a gradient and was not computed from one that does"
                                              : " is undefined"));
        seeds.push_back(seed_gradient("grad", "in grad_outputs", outputs[k], grad_outputs.empty() ? Tensor<T>() : grad_outputs[k], create_graph));
    }
    for (std::size_t k = 0; k < inputs.size(); ++k)
        if (!inputs[k].requires_grad())
            throw Error("grad: input " + std::to_string(k) +
                        (inputs[k].defined() ? " of shape " + shape_str(inputs[k].shape()) + " does not require a gradient"
                                             : " is undefined"));

    // The same pass as backward's; the leaves' .grad are never touched.
    Pass<T> pass(outputs);
    std::vector<char> keep(pass.size(), 0);
    for (const Tensor<T>& input : inputs)
        if (const std::size_t slot = pass.slot_of(input); slot != Pass<T>::npos) keep[slot] = 1;
    // An output listed twice gets the sum of its seeds.
    for (std::size_t k = 0; k < outputs.size(); ++k) accumulate(pass.grad(pass.slot_of(outputs[k])), seeds[k], create_graph);
    pass.run(create_graph, keep);

    TensorList<T> results(inputs.size());
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const std::size_t slot = pass.slot_of(inputs[k]);
        if (slot != Pass<T>::npos) results[k] = pass.grad(slot);
        if (!results[k].defined() && !allow_unused)
            throw Error("grad: input " + std::to_string(k) + " of shape " + shape_str(inputs[k].shape()) +
                        " was not used to compute the outputs; pass allow_unused=true to get an undefined gradient "
                        "for it");
        // Two inputs may get one tensor (x and y of x + y): give each its own.
        for (std::size_t j = 0; j < k && !create_graph; ++j)
            if (results[k].defined() && results[k].same_as(results[j])) results[k] = results[k].detach();
    }
    if (!retain_graph) pass.release_graph();
    return results;
}

template void run_backward(const Tensor<float>&, const Tensor<float>&, bool, bool);
template void run_backward(const Tensor<double>&, const Tensor<double>&, bool, bool);
template TensorList<float> grad(const TensorList<float>&, const TensorList<float>&, const TensorList<float>&, bool, bool,
                                bool);
template TensorList<double> grad(const TensorList<double>&, const TensorList<double>&, const TensorList<double>&, bool,
                                 bool, bool);

}  // namespace tapegrad
