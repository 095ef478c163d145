// The tape's modes and guards (grad mode, anomaly detection), its node count,
// and what recording an op needs. The backward pass over the recorded graph
// is engine/backward.cpp.
#include <tapegrad/autograd/tape.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tapegrad {

namespace {
thread_local bool grad_mode = true;
thread_local bool anomaly_mode = false;
// live_graph_nodes(): every thread counts the nodes it makes and frees in a
// counter of its own, with plain loads and stores (a node freed on another
// thread than made it counts there: only the sum means anything). One
// process-wide atomic was a locked read-modify-write per node made and per
// node freed, on a cache line every recording thread shared.
struct NodeCounters {
    std::mutex mutex;
    std::vector<const std::atomic<long long>*> live;  // the counters of the running threads
    long long finished = 0;                           // what threads that ended left counted
};
NodeCounters& node_counters() {
    static NodeCounters* counters = new NodeCounters;  // never destroyed: threads may end after main
    return *counters;
}
thread_local std::atomic<long long> nodes_counted_here{0};
thread_local bool node_counter_registered = false;
thread_local bool node_counter_retired = false;  // its registration is destroyed: the thread is ending

// Lists this thread's counter on its first node and folds it into
// `finished` when the thread ends.
struct NodeCounterRegistration {
    NodeCounterRegistration() {
        NodeCounters& c = node_counters();
        std::lock_guard<std::mutex> lock(c.mutex);
        c.live.push_back(&nodes_counted_here);
    }
    ~NodeCounterRegistration() {
        NodeCounters& c = node_counters();
        std::lock_guard<std::mutex> lock(c.mutex);
        c.finished += nodes_counted_here.load(std::memory_order_relaxed);
        c.live.erase(std::find(c.live.begin(), c.live.end(), &nodes_counted_here));
        node_counter_retired = true;
    }
};
void register_node_counter() {
    thread_local NodeCounterRegistration registration;
    node_counter_registered = true;
}
}  // namespace

namespace detail {
void count_node(int delta) {
    if (node_counter_retired) {
        // A node made or freed by a destructor that runs after the
        // registration's, as the thread ends: counted where the ended
        // threads' counts go (rare, so the lock does not matter).
        NodeCounters& c = node_counters();
        std::lock_guard<std::mutex> lock(c.mutex);
        c.finished += delta;
        return;
    }
    if (!node_counter_registered) register_node_counter();
    nodes_counted_here.store(nodes_counted_here.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}
}  // namespace detail

std::size_t live_graph_nodes() {
    NodeCounters& c = node_counters();
    std::lock_guard<std::mutex> lock(c.mutex);
    long long total = c.finished;
    for (const std::atomic<long long>* counter : c.live) total += counter->load(std::memory_order_relaxed);
    return total > 0 ? std::size_t(total) : 0;
}

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
void GradFn<T>::throw_released() const {
    throw Error("backward: the graph behind '" + std::string(name) +
                "' was freed by an earlier backward; pass retain_graph=true to that backward to go through the "
                "graph twice");
}
template void GradFn<float>::throw_released() const;
template void GradFn<double>::throw_released() const;

namespace detail {
template <class T>
void check_anomaly(const char* name, const Tensor<T>& output) {
    if (anomaly_mode && !all_finite(output.data()))
        throw Error(std::string("anomaly: '") + name + "' produced NaN or Inf in its output of shape " +
                    shape_str(output.shape()));
}

template <class T>
void check_gradient_anomaly(const char* name, std::size_t input, const Tensor<T>& grad) {
    if (anomaly_mode && !all_finite(grad.data()))
        throw Error("anomaly: backward of '" + std::string(name) + "' produced NaN or Inf in the gradient for input " +
                    std::to_string(input) + " of shape " + shape_str(grad.shape()));
}

template <class T>
void attach_node(Tensor<T>& output, std::shared_ptr<GradFn<T>> node) {
    output.impl()->requires_grad = true;
    output.impl()->grad_fn = std::move(node);
}

template void check_anomaly(const char*, const Tensor<float>&);
template void check_anomaly(const char*, const Tensor<double>&);
template void check_gradient_anomaly(const char*, std::size_t, const Tensor<float>&);
template void check_gradient_anomaly(const char*, std::size_t, const Tensor<double>&);
template void attach_node(Tensor<float>&, std::shared_ptr<GradFn<float>>);
template void attach_node(Tensor<double>&, std::shared_ptr<GradFn<double>>);
}  // namespace detail

}  // namespace tapegrad
