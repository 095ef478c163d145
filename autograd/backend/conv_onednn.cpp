// oneDNN behind conv2d's float passes (conv_onednn.hpp). Measured against
// im2col + OpenBLAS on the issue-#12 CNN's convolutions by
// bench/conv_backends.cpp (bench/README.md, "Convolutions: oneDNN vs
// im2col"): 2-3x faster per pass with oneDNN choosing its own layouts
// (format_tag::any, reorders from and to NCHW on every call, as PyTorch
// runs it), while oneDNN on plain NCHW memory (its own im2col) was slower
// than tapegrad's. So each pass reorders its operands into the layouts the
// primitive asks for and its result back.
//
// Threads. Debian's oneDNN runs on GNU OpenMP, whose idle threads spin
// (OMP_WAIT_POLICY unset: ~300,000 spins) at every barrier; on a busy
// machine a spinning thread whose partner is descheduled burns its slice,
// and two-thread convolutions collapsed 12x in that bench. libgomp reads
// OMP_WAIT_POLICY only when it loads, before any code of ours runs, so
// tapegrad cannot make it passive itself. The policy: with OMP_WAIT_POLICY
// unset, oneDNN runs on 1 thread (no OpenMP team at all); once the user has
// set it (PASSIVE recommended), on blas_threads() threads, the one count
// that also governs the BLAS. Set per call on the calling thread (OpenMP's
// thread count is a per-thread setting) and part of each cached primitive's
// key, so a primitive always runs with the count it was made for: for a
// given count the results are bit-reproducible.
#include <tapegrad/autograd/backend/conv_onednn.hpp>

#ifdef TAPEGRAD_ONEDNN

#include <array>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <tapegrad/autograd/blas.hpp>

extern "C" void omp_set_num_threads(int);  // libgomp, which oneDNN runs on

namespace tapegrad::detail {

namespace {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;

enum Pass { kForward, kInputGrad, kWeightGrad };

const dnnl::engine& engine() {
    static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

// One argument of a primitive: the caller's dense buffer (`user`, its
// pointer set per call) and, when the primitive wants another layout, the
// buffer it works in plus the reorder between the two.
struct Operand {
    int arg;
    bool input;
    memory user, inner;
    dnnl::reorder reorder;
};

// A pass made for one geometry and thread count: its primitive, operands
// and scratchpad. Kept per thread (below), so running it needs no lock.
struct Plan {
    dnnl::primitive primitive;
    std::vector<Operand> operands;
    memory scratchpad;

    void bind(int arg, bool input, const memory::desc& user_md, const memory::desc& want) {
        Operand op{arg, input, memory(user_md, engine(), DNNL_MEMORY_NONE), memory(), dnnl::reorder()};
        if (want != user_md) {
            op.inner = memory(want, engine());
            op.reorder = input ? dnnl::reorder(op.user, op.inner) : dnnl::reorder(op.inner, op.user);
        }
        operands.push_back(std::move(op));
    }

    // Runs the pass on the buffers, in the order of the operands bound.
    void run(dnnl::stream& stream, std::initializer_list<const float*> buffers) {
        std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, scratchpad}};
        auto buffer = buffers.begin();
        for (Operand& op : operands) {
            op.user.set_data_handle(const_cast<float*>(*buffer++));
            args[op.arg] = op.inner ? op.inner : op.user;
            if (op.input && op.inner) op.reorder.execute(stream, op.user, op.inner);
        }
        primitive.execute(stream, args);
        for (Operand& op : operands)
            if (!op.input && op.inner) op.reorder.execute(stream, op.inner, op.user);
        stream.wait();
    }
};

Dims dims(std::size_t a, std::size_t b, std::size_t c, std::size_t d) {
    return {memory::dim(a), memory::dim(b), memory::dim(c), memory::dim(d)};
}

// The descriptions of one convolution: the caller's dense NCHW / OIHW
// (grouped: GOIHW, the same bytes) and `any` for the primitive to choose.
struct Descs {
    memory::desc x, w, y, bias, x_any, w_any, y_any;
    Dims strides, dilates, padding;

    explicit Descs(const OnednnConv& d) {
        const auto f32 = memory::data_type::f32;
        const Dims xd = dims(d.N, d.C, d.H, d.W), yd = dims(d.N, d.O, d.OH, d.OW);
        const Dims wd = d.groups == 1 ? dims(d.O, d.C, d.kh, d.kw)
                                      : Dims{memory::dim(d.groups), memory::dim(d.O / d.groups),
                                             memory::dim(d.C / d.groups), memory::dim(d.kh), memory::dim(d.kw)};
        x = memory::desc(xd, f32, Tag::nchw), y = memory::desc(yd, f32, Tag::nchw);
        w = memory::desc(wd, f32, d.groups == 1 ? Tag::oihw : Tag::goihw);
        bias = memory::desc({memory::dim(d.O)}, f32, Tag::x);
        x_any = memory::desc(xd, f32, Tag::any), y_any = memory::desc(yd, f32, Tag::any);
        w_any = memory::desc(wd, f32, Tag::any);
        strides = {memory::dim(d.stride_h), memory::dim(d.stride_w)};
        dilates = {memory::dim(d.dil_h) - 1, memory::dim(d.dil_w) - 1};  // oneDNN counts the gaps
        padding = {memory::dim(d.pad_h), memory::dim(d.pad_w)};
    }

    dnnl::convolution_forward::primitive_desc forward(bool with_bias, const dnnl::primitive_attr& attr) const {
        const auto algo = dnnl::algorithm::convolution_direct;
        const auto prop = dnnl::prop_kind::forward_training;
        return {with_bias ? dnnl::convolution_forward::desc(prop, algo, x_any, w_any, bias, y_any, strides, dilates,
                                                            padding, padding)
                          : dnnl::convolution_forward::desc(prop, algo, x_any, w_any, y_any, strides, dilates, padding,
                                                            padding),
                attr, engine()};
    }
};

dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

std::unique_ptr<Plan> make_plan(Pass pass, const OnednnConv& d, bool with_bias) {
    const Descs m(d);
    const dnnl::primitive_attr attr = user_scratchpad();
    auto plan = std::make_unique<Plan>();
    const auto fwd = m.forward(with_bias, attr);
    const auto algo = dnnl::algorithm::convolution_direct;
    if (pass == kForward) {
        plan->bind(DNNL_ARG_SRC, true, m.x, fwd.src_desc());
        plan->bind(DNNL_ARG_WEIGHTS, true, m.w, fwd.weights_desc());
        if (with_bias) plan->bind(DNNL_ARG_BIAS, true, m.bias, fwd.bias_desc());
        plan->bind(DNNL_ARG_DST, false, m.y, fwd.dst_desc());
        plan->primitive = dnnl::convolution_forward(fwd);
        plan->scratchpad = memory(fwd.scratchpad_desc(), engine());
    } else if (pass == kInputGrad) {
        const dnnl::convolution_backward_data::primitive_desc pd(
            dnnl::convolution_backward_data::desc(algo, m.x_any, m.w_any, m.y_any, m.strides, m.dilates, m.padding,
                                                  m.padding),
            attr, engine(), fwd);
        plan->bind(DNNL_ARG_DIFF_DST, true, m.y, pd.diff_dst_desc());
        plan->bind(DNNL_ARG_WEIGHTS, true, m.w, pd.weights_desc());
        plan->bind(DNNL_ARG_DIFF_SRC, false, m.x, pd.diff_src_desc());
        plan->primitive = dnnl::convolution_backward_data(pd);
        plan->scratchpad = memory(pd.scratchpad_desc(), engine());
    } else {
        const dnnl::convolution_backward_weights::primitive_desc pd(
            dnnl::convolution_backward_weights::desc(algo, m.x_any, m.w_any, m.y_any, m.strides, m.dilates, m.padding,
                                                     m.padding),
            attr, engine(), fwd);
        plan->bind(DNNL_ARG_SRC, true, m.x, pd.src_desc());
        plan->bind(DNNL_ARG_DIFF_DST, true, m.y, pd.diff_dst_desc());
        plan->bind(DNNL_ARG_DIFF_WEIGHTS, false, m.w, pd.diff_weights_desc());
        plan->primitive = dnnl::convolution_backward_weights(pd);
        plan->scratchpad = memory(pd.scratchpad_desc(), engine());
    }
    return plan;
}

using Key = std::array<std::size_t, 19>;

// This thread's plans and stream. A training loop meets a handful of
// geometries; past kMaxPlans (a program sweeping shapes) they are dropped
// and made again as needed.
struct ThreadState {
    static constexpr std::size_t kMaxPlans = 64;
    dnnl::stream stream{engine()};
    std::map<Key, std::unique_ptr<Plan>> plans;  // null: oneDNN refused the geometry
};

ThreadState& thread_state() {
    thread_local ThreadState state;
    return state;
}

// Empty tensors (nothing to compute) and extents beyond int, which oneDNN's
// kernels hold in ints (conv2d accepts a stride of 2^63 - 1), go to im2col.
bool takes(const OnednnConv& d) {
    const std::size_t extents[] = {d.N,  d.C,        d.H,        d.W,     d.O,     d.kh,    d.kw,   d.OH,
                                   d.OW, d.groups,   d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.dil_h, d.dil_w};
    for (std::size_t e : extents)
        if (e > std::size_t(std::numeric_limits<int>::max())) return false;
    return d.N > 0 && d.C > 0 && d.O > 0 && d.H > 0 && d.W > 0;
}

// The plan for the pass, made on first use; null when oneDNN does not take
// it. Sets this thread's OpenMP count to the policy's for the run that follows.
Plan* plan_for(Pass pass, const OnednnConv& d, bool with_bias) {
    if (!takes(d)) return nullptr;
    const int threads = onednn_threads();
    omp_set_num_threads(threads);
    const Key key{std::size_t(pass), std::size_t(with_bias), std::size_t(threads), d.N, d.C, d.H, d.W, d.O, d.kh,
                  d.kw, d.OH, d.OW, d.groups, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.dil_h, d.dil_w};
    ThreadState& state = thread_state();
    auto found = state.plans.find(key);
    if (found != state.plans.end()) return found->second.get();
    if (state.plans.size() >= ThreadState::kMaxPlans) state.plans.clear();
    std::unique_ptr<Plan> plan;
    try {
        plan = make_plan(pass, d, with_bias);
    } catch (const dnnl::error&) {
        // Unimplemented for this geometry: im2col computes it. (Out of
        // memory is the other status; im2col will then meet it too.)
    }
    return state.plans.emplace(key, std::move(plan)).first->second.get();
}

}  // namespace

int onednn_threads() {
    // A thread that asked for one-thread products (the Trainer's shards)
    // gets one-thread convolutions too: N shards of N OpenMP threads each
    // would oversubscribe the cores, and the count changes the bits.
    if (one_thread_products()) return 1;
    static const bool wait_policy_set = std::getenv("OMP_WAIT_POLICY") != nullptr;  // as libgomp read it at load
    const int blas = blas_threads();
    return wait_policy_set && blas > 0 ? blas : 1;
}

std::string onednn_backend() {
    const dnnl_version_t* v = dnnl::version();
    const int threads = onednn_threads();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

bool onednn_conv_forward(const OnednnConv& d, const float* x, const float* w, const float* bias, float* y) {
    Plan* plan = plan_for(kForward, d, bias != nullptr);
    if (!plan) return false;
    if (bias)
        plan->run(thread_state().stream, {x, w, bias, y});
    else
        plan->run(thread_state().stream, {x, w, y});
    return true;
}

bool onednn_conv_input_grad(const OnednnConv& d, const float* grad, const float* w, float* gx) {
    Plan* plan = plan_for(kInputGrad, d, false);
    if (!plan) return false;
    plan->run(thread_state().stream, {grad, w, gx});
    return true;
}

bool onednn_conv_weight_grad(const OnednnConv& d, const float* x, const float* grad, float* gw) {
    Plan* plan = plan_for(kWeightGrad, d, false);
    if (!plan) return false;
    plan->run(thread_state().stream, {x, grad, gw});
    return true;
}

}  // namespace tapegrad::detail

#else  // built without oneDNN: conv2d runs im2col

namespace tapegrad::detail {

bool onednn_conv_forward(const OnednnConv&, const float*, const float*, const float*, float*) { return false; }
bool onednn_conv_input_grad(const OnednnConv&, const float*, const float*, float*) { return false; }
bool onednn_conv_weight_grad(const OnednnConv&, const float*, const float*, float*) { return false; }
std::string onednn_backend() { return ""; }
int onednn_threads() { return 0; }

}  // namespace tapegrad::detail

#endif
