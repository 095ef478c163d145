// Where tensor values live: Array<T>, an xt::xarray whose buffer comes from
// ValueAllocator rather than xsimd's aligned allocator.
//
// Why: xsimd's allocator calls posix_memalign for every buffer, and glibc
// (2.36) serves memalign outside its per-thread cache: each call walks the
// main arena and often consolidates its fast bins. Every recorded op and every
// gradient allocates a buffer, so on tiny tensors that was the largest single
// cost of the tape (perf on bench/tapegrad_bench tape: ~40% of the time in
// malloc_consolidate, _int_free, _int_memalign and friends; ~25% less time per
// op in backward with this allocator). ValueAllocator takes a plain malloc
// block, served from the thread cache when small, and aligns it by hand.
//
// The buffers keep xsimd's alignment, and xtensor is told so (below): it then
// runs the same aligned vector loops as before. That matters beyond speed: on
// a buffer of unknown alignment xtensor peels a scalar prologue whose length
// depends on the address, and its scalar and vector exp or sum round
// differently, so results would change from run to run with the heap layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>

#include <xtensor/xarray.hpp>

// In a namespace of its own: the allocator is a template argument of Array<T>,
// so argument-dependent lookup searches its namespace on every unqualified
// call xtensor makes on an Array. In namespace tapegrad that would find
// tapegrad's ops (sum, mean, ...) and break xtensor's own calls to its own.
namespace tapegrad::memory {

template <class T>
struct ValueAllocator {
    using value_type = T;

    // xsimd's own alignment for the widest vectors it was built for, and at
    // least a cache line.
#ifdef XTENSOR_USE_XSIMD
    static constexpr std::size_t alignment = XSIMD_DEFAULT_ALIGNMENT > 64 ? XSIMD_DEFAULT_ALIGNMENT : 64;
#else
    static constexpr std::size_t alignment = 64;
#endif

    ValueAllocator() noexcept = default;
    template <class U>
    ValueAllocator(const ValueAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > (std::numeric_limits<std::size_t>::max() - alignment) / sizeof(T)) throw std::bad_alloc();
        // malloc's block is 16-byte aligned, so rounding up its address leaves
        // at least 16 bytes in front: room to remember the block itself.
        void* const block = std::malloc(n * sizeof(T) + alignment);
        if (block == nullptr) throw std::bad_alloc();
        const std::uintptr_t aligned = (reinterpret_cast<std::uintptr_t>(block) + alignment) & ~(alignment - 1);
        void** const values = reinterpret_cast<void**>(aligned);
        values[-1] = block;
        return reinterpret_cast<T*>(values);
    }
    void deallocate(T* p, std::size_t) noexcept {
        if (p != nullptr) std::free(reinterpret_cast<void**>(p)[-1]);
    }
};

template <class T, class U>
bool operator==(const ValueAllocator<T>&, const ValueAllocator<U>&) noexcept {
    return true;
}
template <class T, class U>
bool operator!=(const ValueAllocator<T>&, const ValueAllocator<U>&) noexcept {
    return false;
}

}  // namespace tapegrad::memory

#ifdef XTENSOR_USE_XSIMD
// Tells xtensor that these buffers are aligned for xsimd's vectors.
template <class T>
struct xsimd::allocator_alignment<tapegrad::memory::ValueAllocator<T>> {
    using type = xsimd::aligned_mode;
};
#endif

namespace tapegrad {

// The array type of a tensor's values and gradients. It converts to and from
// any xtensor expression, xt::xarray<T> included (by copying).
template <class T>
using Array = xt::xarray<T, XTENSOR_DEFAULT_LAYOUT, memory::ValueAllocator<T>>;

}  // namespace tapegrad
