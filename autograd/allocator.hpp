/// \file
/// Memory for tensors: the value buffers (Array<T>) and the graph's nodes.
///
/// Why not the defaults: xsimd's aligned allocator calls posix_memalign for
/// every buffer, which glibc (2.36) serves outside its per-thread cache, and a
/// recorded op and its gradient each allocate a buffer, a TensorImpl and a
/// GradFn. backward() then frees them all at once, thousands in a row for a
/// long tape; glibc's thread cache keeps only 7 blocks of a size, so the rest
/// went through its locked bins, were consolidated again and again, and the
/// emptied heap top was handed back to the kernel and faulted in again on the
/// next forward pass. perf on `bench/tapegrad_bench tape`: ~40% of the time in
/// malloc_consolidate, _int_free, _int_memalign and page faults.
///
/// So small blocks (up to 4 KiB: tiny tensors, biases, graph nodes) come from
/// a per-thread cache of freed blocks, in 64-byte size classes, up to 16 MiB
/// per thread; larger ones from malloc, aligned by hand, and when freed are
/// kept for reuse by exact size (up to 32 blocks and 64 MiB per thread):
/// a CNN step frees and asks again for the same megabyte-sized buffers, which
/// glibc otherwise trimmed from the heap and faulted in again every step
/// (~15% of the step, by perf). Every block is 64-byte aligned (or xsimd's
/// alignment, if larger).
///
/// The alignment matters beyond speed, and xtensor is told about it (below):
/// on a buffer of unknown alignment xtensor peels a scalar prologue whose
/// length depends on the address, and its scalar and vector exp or sum round
/// differently, so results would change from run to run with the heap layout.
/// With it, xtensor runs the same aligned loops it ran with xsimd's allocator,
/// and results are bit-identical to those.
#pragma once

#include <cstddef>
#include <limits>
#include <new>

#include <tapegrad/config.hpp>  // first: it checks the flags that xtensor's types depend on

#include <xtensor/xarray.hpp>

/// The memory behind tensors (see allocator.hpp).
///
/// In a namespace of its own: the allocator is a template argument of Array<T>,
/// so argument-dependent lookup searches its namespace on every unqualified
/// call xtensor makes on an Array. In namespace tapegrad that would find
/// tapegrad's ops (sum, mean, ...) and break xtensor's own calls to its own.
namespace tapegrad::memory {

#ifdef XTENSOR_USE_XSIMD
/// The alignment of every block in bytes: 64, or xsimd's if larger.
constexpr std::size_t block_alignment = XSIMD_DEFAULT_ALIGNMENT > 64 ? XSIMD_DEFAULT_ALIGNMENT : 64;
#else
/// The alignment of every block in bytes.
constexpr std::size_t block_alignment = 64;
#endif

/// A block of at least `bytes` bytes, aligned to block_alignment; throws
/// std::bad_alloc. Free it with free_block and the same size, on any thread.
void* allocate_block(std::size_t bytes);
/// Returns a block of allocate_block(bytes), `bytes` the same, to this
/// thread's cache or to malloc.
void free_block(void* block, std::size_t bytes) noexcept;
/// False in builds with AddressSanitizer, which must see every free.
bool caches_blocks() noexcept;

/// A std allocator over those blocks, for Array<T> and std::allocate_shared.
/// Stateless: every instance can free what any other allocated.
template <class T>
struct BlockAllocator {
    /// The allocated type.
    using value_type = T;
    static_assert(alignof(T) <= block_alignment, "blocks must be aligned for T");

    BlockAllocator() noexcept = default;
    /// Rebinding copy: there is no state to copy.
    template <class U>
    BlockAllocator(const BlockAllocator<U>&) noexcept {}

    /// Room for `n` objects of T; throws std::bad_alloc.
    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / 2 / sizeof(T)) throw std::bad_alloc();
        return static_cast<T*>(allocate_block(n * sizeof(T)));
    }
    /// Frees what allocate(n) returned, `n` the same.
    void deallocate(T* p, std::size_t n) noexcept { free_block(p, n * sizeof(T)); }
};

/// Always true: any BlockAllocator frees what another allocated.
template <class T, class U>
bool operator==(const BlockAllocator<T>&, const BlockAllocator<U>&) noexcept {
    return true;
}
/// Always false (see operator==).
template <class T, class U>
bool operator!=(const BlockAllocator<T>&, const BlockAllocator<U>&) noexcept {
    return false;
}

}  // namespace tapegrad::memory

#ifdef XTENSOR_USE_XSIMD
// Tells xtensor that these buffers are aligned for xsimd's vectors.
template <class T>
struct xsimd::allocator_alignment<tapegrad::memory::BlockAllocator<T>> {
    using type = xsimd::aligned_mode;
};
#endif

namespace tapegrad {

/// The array type of a tensor's values and gradients. It converts to and from
/// any xtensor expression, xt::xarray<T> included (by copying).
template <class T>
using Array = xt::xarray<T, XTENSOR_DEFAULT_LAYOUT, memory::BlockAllocator<T>>;

}  // namespace tapegrad
