/// \file
/// The tape: how an operation records itself, and the switch that stops recording.
///
/// An op computes its forward value, then calls record() with its inputs and a
/// backward function. If gradients are enabled and any input requires one, the
/// output gets a graph node (GradFn) holding the inputs and the backward with
/// what it captured; otherwise record() returns a plain tensor and the
/// backward function is dropped unused.
///
/// Backward functions are written with tensor ops (not raw arrays), so that
/// backward(create_graph = true) records the backward pass itself and gradients
/// can be differentiated again. When create_graph is false the engine runs them
/// under NoGradGuard, so they record nothing.
///
/// That is the one way to write an op, tapegrad's own (autograd/ops/) and
/// yours alike: the forward value, then record() with the backward beside it.
///
/// \code
///   template <class T>
///   Tensor<T> exp(const Tensor<T>& a) {
///       return record<T>("exp", xt::exp(a.data()), {a},
///                        [](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
///                            return Gradients<T>{mul(g, out)};  // d exp(a) = exp(a) da
///                        });
///   }
/// \endcode
///
/// An op composed of other ops (mean, mse_loss, huber_loss) records nothing
/// of its own: its gradient is theirs. Where it was measured to pay, a
/// backward computes its formula a faster way when it runs unrecorded
/// (!grad_enabled(), i.e. not under create_graph): detail::grad_formula
/// (ops/fused.hpp) evaluates the same expression on the arrays in one loop
/// (sigmoid, tanh, softmax, log_softmax), and softmax/log_softmax along the last
/// axis and cross_entropy use a row loop. Same backward, same formula, another evaluation of it,
/// and the tests hold every op to that (tests/autograd/check.hpp): gradcheck
/// runs backward unrecorded (the fast evaluation) against central differences,
/// gradgradcheck differentiates the recorded one (create_graph), and the two
/// evaluations must give the same gradients up to rounding.
///
/// What a recorded op costs, on tiny tensors where nothing else does (a long
/// chain of 1x1 or 16x16 ops, `tapegrad_bench tape`): an output tensor and
/// one graph node (its inputs and its backward with the values it saved, all
/// inline in the node: no std::function, no input vector), and in backward
/// the gradients (inline too) and a step of the walk. Nodes and small buffers
/// come from a per-thread cache of freed blocks (allocator.hpp) that each
/// training step refills and the next one reuses: an arena in effect, with no
/// heap call in the steady state. Three more things keep it small. The
/// elementwise ops write their value straight into their output tensor with
/// xtensor's own loop when the operands have one shape (detail::evaluate,
/// ops/same_shape.hpp), instead of building an xarray and moving it into the
/// tensor: each xarray move swaps three small vectors and cost more than the
/// op. The engine's order holds plain pointers to the handles it reached each
/// tensor through, not copies: the roots keep the whole graph alive until it
/// is released, and a copy is two atomic reference-count updates. And each
/// thread counts its live nodes (live_graph_nodes()) in a counter of its own,
/// so that threads recording at once share no cache line per node.
#pragma once

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/autograd/small_tensor_list.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// A list of tensors (grad()'s inputs and results, gradcheck's functions).
template <class T>
using TensorList = std::vector<Tensor<T>>;

/// The inputs of a recorded op, as passed to record(): held in its graph node,
/// inline for up to three (small_tensor_list.hpp).
template <class T>
using Inputs = SmallTensorList<T>;

/// What a backward returns: one gradient per input, in the inputs' order. An
/// entry may be left undefined where inputs[i].requires_grad() is false.
template <class T>
using Gradients = SmallTensorList<T>;

namespace detail {
void count_node(int delta);
}

/// A node of the graph: how a tensor was made. Owned by the output tensor
/// (TensorImpl::grad_fn), it keeps its inputs alive until a backward without
/// retain_graph frees them. The op's backward is stored in the node itself
/// with the values it saved (detail::GradNode), and called through a plain
/// function pointer: one allocation per node, no std::function.
template <class T>
struct GradFn {
    /// The plain function behind backward(): the node, its output and the
    /// output's gradient to the inputs' gradients.
    using BackwardCall = Gradients<T> (*)(const GradFn& node, const Tensor<T>& output, const Tensor<T>& grad_output);

    const char* name;        ///< the op that recorded it (a string literal), shown by Tensor::op_name()
    Inputs<T> inputs;        ///< the op's inputs, as passed to record()
    bool released = false;   ///< set when backward freed this node's saved state

    /// Maps the output's gradient to the inputs' (the op's backward, called
    /// with this node's inputs). Throws Error after release().
    Gradients<T> backward(const Tensor<T>& output, const Tensor<T>& grad_output) const {
        if (released) throw_released();
        return call_(*this, output, grad_output);
    }
    /// Frees what the node holds for backward (its inputs and saved values);
    /// backward() may no longer be called.
    void release() {
        inputs.clear();
        if (!released) drop_saved_(*this);
        released = true;
    }

    GradFn(const GradFn&) = delete;
    GradFn& operator=(const GradFn&) = delete;

protected:
    /// Made by detail::GradNode only, with the inputs [first, last) (built
    /// in place); counts itself in live_graph_nodes() until destroyed.
    template <class It>
    GradFn(const char* n, It first, It last, BackwardCall call, void (*drop_saved)(GradFn&))
        : name(n), inputs(first, last), call_(call), drop_saved_(drop_saved) {
        detail::count_node(+1);
    }
    ~GradFn() { detail::count_node(-1); }

private:
    [[noreturn]] void throw_released() const;
    BackwardCall call_;
    void (*drop_saved_)(GradFn&);
};

namespace detail {
/// The node of an op whose backward is the callable F (a lambda and what it
/// captured: the op's saved values), stored in the node.
template <class T, class F>
struct GradNode final : GradFn<T> {
    /// A node of `name` over the inputs [first, last), with `fn` as its backward.
    template <class It, class Fn>
    GradNode(const char* name, It first, It last, Fn&& fn)
        : GradFn<T>(name, first, last, &call, &drop_saved), backward_fn(std::in_place, std::forward<Fn>(fn)) {}

private:
    static Gradients<T> call(const GradFn<T>& self, const Tensor<T>& output, const Tensor<T>& grad_output) {
        const GradNode& node = static_cast<const GradNode&>(self);
        return (*node.backward_fn)(node.inputs, output, grad_output);
    }
    static void drop_saved(GradFn<T>& self) { static_cast<GradNode&>(self).backward_fn.reset(); }
    std::optional<F> backward_fn;  // empty once release() dropped the saved values
};

/// An input in record()'s braces: a reference, so that the list costs no
/// copy of the handle (two atomic reference-count updates) before the node
/// takes its own. It may refer to a temporary, which lives until record()
/// returns.
template <class T>
class InputRef {
public:
    /// Refers to `t`.
    InputRef(const Tensor<T>& t) : tensor_(&t) {}
    /// The tensor referred to.
    operator const Tensor<T>&() const { return *tensor_; }

private:
    const Tensor<T>* tensor_;
};

/// Under a DetectAnomalyGuard, throws Error if `output` holds NaN or Inf,
/// naming the op and shape.
template <class T>
void check_anomaly(const char* name, const Tensor<T>& output);
/// Under a DetectAnomalyGuard, throws Error if `grad`, the gradient that the
/// backward of op `name` gave its input number `input`, holds NaN or Inf.
template <class T>
void check_gradient_anomaly(const char* name, std::size_t input, const Tensor<T>& grad);
/// Makes `output` the result of a recorded op: requires_grad, and `node` as
/// its history.
template <class T>
void attach_node(Tensor<T>& output, std::shared_ptr<GradFn<T>> node);
}  // namespace detail

/// Whether ops record on this thread now: true unless a NoGradGuard is alive
/// (and no EnableGradGuard was made after it).
bool grad_enabled();

/// RAII guard: nothing is recorded on this thread while one is alive.
class NoGradGuard {
public:
    /// Turns recording off on this thread.
    NoGradGuard();
    /// Restores the state found by the constructor.
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// RAII guard that turns recording back on inside a NoGradGuard (the engine
/// uses it for create_graph).
class EnableGradGuard {
public:
    /// Turns recording on on this thread.
    EnableGradGuard();
    /// Restores the state found by the constructor.
    ~EnableGradGuard();
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool previous_;
};

/// RAII guard, like PyTorch's detect_anomaly: while one is alive on this
/// thread, every op's forward output and every gradient computed by backward is
/// checked, and the first NaN or Inf throws an Error naming the op and shape.
/// Off by default; when off it costs one thread-local flag test per op.
class DetectAnomalyGuard {
public:
    /// Turns the checks on on this thread.
    DetectAnomalyGuard();
    /// Restores the state found by the constructor.
    ~DetectAnomalyGuard();
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

/// Whether a DetectAnomalyGuard is alive on this thread.
bool anomaly_detection_enabled();

namespace detail {
template <class T, class Value, class It, class F>
Tensor<T> record_node(const char* name, Value&& value, It first, It last, F&& backward) {
    static_assert(std::is_same_v<std::decay_t<Value>, Tensor<T>> || std::is_convertible_v<Value&&, Array<T>>,
                  "record: the value is an Array<T> (or an expression of one) or a Tensor<T> the op made");
    static_assert(std::is_invocable_r_v<Gradients<T>, const std::decay_t<F>&, const Inputs<T>&, const Tensor<T>&,
                                        const Tensor<T>&>,
                  "record: the backward is Gradients<T>(const Inputs<T>& inputs, const Tensor<T>& output, "
                  "const Tensor<T>& grad_output), callable as const (not a mutable lambda)");
    Tensor<T> out;
    if constexpr (std::is_same_v<std::decay_t<Value>, Tensor<T>>)
        out = std::forward<Value>(value);
    else
        out = Tensor<T>(Array<T>(std::forward<Value>(value)));
    check_anomaly(name, out);
    if (!grad_enabled() ||
        std::none_of(first, last, [](const Tensor<T>& in) { return in.requires_grad(); }))
        return out;
    using Node = GradNode<T, std::decay_t<F>>;
    attach_node<T>(out, std::allocate_shared<Node>(memory::BlockAllocator<Node>(), name, first, last,
                                                   std::forward<F>(backward)));
    return out;
}
}  // namespace detail

/// Records an op: `value` is its forward result and `backward` its gradient
/// formula, `Gradients<T>(const Inputs<T>& inputs, const Tensor<T>& output,
/// const Tensor<T>& grad_output)`, one gradient per input. Returns the result
/// as a tensor; when gradients are enabled and an input requires one, with a
/// graph node holding the inputs and the backward (with what it captured),
/// otherwise without, and nothing is allocated for them.
///
/// `value` is an Array<T> (or an xtensor expression of one), or a Tensor<T>
/// the op made itself and nobody else holds (e.g. by detail::evaluate,
/// ops/same_shape.hpp): moving an xarray into a new tensor costs as much as a
/// tiny op, so the ops that matter on tiny tensors write their values in
/// place. `name` must outlive the graph (a string literal). The backward is
/// called as const (a lambda that is not `mutable`), and must
/// not capture tensors that have history: it gets the inputs and the output
/// as arguments, so the graph owns no cycles; what it captures (shapes,
/// masks, indices) is freed with the graph's saved state. Under a
/// DetectAnomalyGuard, throws Error if `value` holds NaN or Inf.
template <class T, class Value, class F>
Tensor<T> record(const char* name, Value&& value, std::initializer_list<detail::InputRef<T>> inputs, F&& backward) {
    return detail::record_node<T>(name, std::forward<Value>(value), inputs.begin(), inputs.end(),
                                  std::forward<F>(backward));
}

/// The same for an op with a list of inputs of any length (concat, stack).
/// (`List` is TensorList<T>; a template parameter only so that braces pick
/// the overload above.)
template <class T, class Value, class List, class F,
          std::enable_if_t<std::is_same_v<List, TensorList<T>>, int> = 0>
Tensor<T> record(const char* name, Value&& value, const List& inputs, F&& backward) {
    return detail::record_node<T>(name, std::forward<Value>(value), inputs.begin(), inputs.end(),
                                  std::forward<F>(backward));
}

/// What a LeafGradientHookGuard calls: `leaf` is a leaf the pass reached and
/// `grad` the pass's complete gradient for it, not yet added to leaf.grad().
template <class T>
using LeafGradientHook = std::function<void(const Tensor<T>& leaf, const Tensor<T>& grad)>;

/// RAII: while one is alive on this thread, every backward() run on this
/// thread calls `hook` once for each leaf it reaches with a gradient, as soon
/// as that gradient is final (every op that used the leaf has run its gradient
/// formula), while the rest of the pass still runs. The order is the pass's
/// (fixed by the graph: the leaves used last in the forward usually come
/// first). `grad` is this pass's gradient alone: backward() adds it to .grad
/// only at its end, with all the others (see run_backward). grad() calls no
/// hook. Like PyTorch's register_post_accumulate_grad_hook, it is there so
/// that data-parallel training can start averaging a parameter's gradient
/// while backward still runs (train/gradient_reducer.hpp). A hook that throws
/// makes backward() throw, which then changes nothing. A hook must not start
/// a backward() or grad() of its own: while a hook runs they throw
/// tapegrad::Error (a nested pass would renumber nodes the running one
/// shares). Guards nest: the innermost one is in force.
template <class T>
class LeafGradientHookGuard {
public:
    /// Calls `hook` from every backward() on this thread until destroyed.
    explicit LeafGradientHookGuard(LeafGradientHook<T> hook);
    /// Restores the hook found by the constructor (none, usually).
    ~LeafGradientHookGuard();
    LeafGradientHookGuard(const LeafGradientHookGuard&) = delete;
    LeafGradientHookGuard& operator=(const LeafGradientHookGuard&) = delete;

private:
    LeafGradientHook<T> hook_;
    const LeafGradientHook<T>* previous_;
};

/// The hook of the innermost LeafGradientHookGuard<T> alive on this thread,
/// or nullptr: what code that moves work to another thread installs there
/// again (train::ThreadContext), so that backward() calls it there too.
template <class T>
const LeafGradientHook<T>* current_leaf_gradient_hook();

/// The engine behind Tensor::backward (which says what it does and throws);
/// an undefined grad_output means 1 for a one-element root. Strong exception
/// guarantee: if it throws, every leaf's .grad and the graph are as they were
/// before the call.
///
/// Threads: separate graphs on separate threads are safe, and their results
/// do not depend on what other threads do (matrix products run with one BLAS
/// thread count, autograd/blas.hpp). Leaves may be shared: passes on several
/// threads may reach the same leaves at once; each adds its gradients to
/// their .grad under a lock at its end. A graph's interior (non-leaf tensors)
/// belongs to one thread at a time, and reading a leaf's .grad while another
/// thread's pass may write it is the caller's to synchronise.
template <class T>
void run_backward(const Tensor<T>& root, const Tensor<T>& grad_output, bool retain_graph, bool create_graph);

/// The gradients of `outputs` with respect to `inputs`, returned rather than
/// added to any .grad, like torch.autograd.grad: leaves' .grad stay as they
/// are. An input may be a leaf or a tensor computed on the way (an
/// intermediate); each must require a gradient.
///
/// - grad_outputs: one gradient per output, of its shape (empty: all
///   undefined); an undefined one means 1 for a one-element output, and
///   throws for any other. With several outputs, their contributions add up.
/// - retain_graph: keep the graph for another backward or grad, as in
///   Tensor::backward; create_graph implies it.
/// - create_graph: record the computation, so the returned gradients can be
///   differentiated again (Hessian-vector products, gradient penalties).
/// - allow_unused: an input the outputs do not depend on gets an undefined
///   tensor; without it, such an input throws.
///
/// Runs the engine of Tensor::backward, with its errors and its strong
/// exception guarantee (a call that throws changes nothing and keeps the
/// graph), but only the gradient formulas on a path from an output to an
/// input. It may be called from a gradient formula while a pass runs on the
/// same thread (a custom op that recomputes its forward and differentiates
/// it, as checkpointing does), also over nodes of the running pass's graph;
/// such a nested call keeps the graph (as retain_graph), which the running
/// pass still walks. Threads: as run_backward, and as it writes no .grad, passes over
/// shared leaves need no care at all.
template <class T>
TensorList<T> grad(const TensorList<T>& outputs, const TensorList<T>& inputs, const TensorList<T>& grad_outputs = {},
                   bool retain_graph = false, bool create_graph = false, bool allow_unused = false);

/// The same for one output, the usual case: `grad(loss, {w, b})`.
template <class T>
TensorList<T> grad(const Tensor<T>& output, const TensorList<T>& inputs, const Tensor<T>& grad_output = {},
                   bool retain_graph = false, bool create_graph = false, bool allow_unused = false) {
    return grad(TensorList<T>{output}, inputs, TensorList<T>{grad_output}, retain_graph, create_graph, allow_unused);
}

/// Number of graph nodes alive in this process (for tests and leak checks).
std::size_t live_graph_nodes();

}  // namespace tapegrad
