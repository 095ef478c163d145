// The backward pass's scratch vectors, pooled per thread (engine/backward.cpp).
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace tapegrad::detail {

// A scratch vector of a pass (its order, its DFS stack, its gradients),
// taken from this thread's pool and given back cleared: a training step's
// backward then allocates none of them afresh, which on a graph of ten
// scalar ops was several heap calls per pass. A pool, not one vector, as
// passes nest (a backward formula that calls grad()); a vector grown past
// `kept_capacity` is freed rather than kept. The pool has fixed room, so
// giving a vector back never allocates (a pass unwinding from bad_alloc
// must not throw again), and once the thread's thread_local objects are
// destroyed (a pass run from a later destructor, or from a static one on
// the main thread) it is closed: vectors are then made and freed plainly.
template <class V>
class Recycled {
public:
    Recycled() {
        if (pool.closed) return;
        drain_at_thread_exit();
        if (pool.count > 0) {
            V* slot = pool.slot(--pool.count);
            value_ = std::move(*slot);
            slot->~V();
        }
    }
    ~Recycled() {
        if (pool.closed || pool.count == pool_room || value_.capacity() > kept_capacity) return;
        value_.clear();
        ::new (static_cast<void*>(pool.slot(pool.count))) V(std::move(value_));  // a move: no allocation
        ++pool.count;
    }
    Recycled(const Recycled&) = delete;
    Recycled& operator=(const Recycled&) = delete;
    V& operator*() { return value_; }
    const V& operator*() const { return value_; }

private:
    static constexpr std::size_t kept_capacity = std::size_t(1) << 16;
    static constexpr std::size_t pool_room = 8;
    // Raw room for the pooled vectors: trivially destructible, so it stays
    // readable until the thread ends, after its thread_local destructors
    // (as allocator.cpp's cache).
    struct Pool {
        alignas(V) unsigned char storage[pool_room][sizeof(V)];
        std::size_t count;
        bool closed;
        V* slot(std::size_t i) { return std::launder(reinterpret_cast<V*>(storage[i])); }
    };
    static thread_local Pool pool;
    // Frees the pooled vectors and closes the pool when the thread ends.
    static void drain_at_thread_exit() {
        struct Drain {
            ~Drain() {
                for (std::size_t i = 0; i < pool.count; ++i) pool.slot(i)->~V();
                pool.count = 0;
                pool.closed = true;
            }
        };
        thread_local Drain drain;
        (void)drain;
    }
    V value_;
};
template <class V>
thread_local typename Recycled<V>::Pool Recycled<V>::pool{};

}  // namespace tapegrad::detail
