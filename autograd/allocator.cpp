// The per-thread caches of freed blocks behind allocator.hpp.
#include <tapegrad/autograd/allocator.hpp>

#include <cstdint>
#include <cstdlib>

// Under AddressSanitizer every block goes straight back to malloc, so that a
// use after free is still caught instead of landing in a cached block.
#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_CACHE_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_CACHE_BLOCKS 0
#endif
#endif
#ifndef TAPEGRAD_CACHE_BLOCKS
#define TAPEGRAD_CACHE_BLOCKS 1
#endif

namespace tapegrad::memory {
namespace {

constexpr std::size_t class_bytes = 64;    // size classes: 64, 128, ..., 4096 bytes
constexpr std::size_t cached_up_to = 4096;
constexpr std::size_t classes = cached_up_to / class_bytes;
constexpr std::size_t max_cached_bytes = std::size_t(16) << 20;  // per thread
// Larger blocks are kept by exact size: a training step asks for the same
// sizes every step (a conv layer's activations, columns and gradients).
constexpr std::size_t large_slots = 32;
constexpr std::size_t max_cached_large_bytes = std::size_t(64) << 20;  // per thread

struct FreeBlock {
    FreeBlock* next;
};

// Plain data, constant-initialised: safe to use at any point of the thread's
// life, also after its thread_local destructors have run (then `closed`).
struct LargeBlock {
    void* block;
    std::size_t bytes;
};
struct Cache {
    FreeBlock* heads[classes];
    std::size_t bytes;
    LargeBlock large[large_slots];  // the first `large_count` are in use
    std::size_t large_count, large_bytes;
    bool drain_registered;
    bool closed;
};
thread_local Cache cache{};

// malloc's block is 16-byte aligned, so rounding its address up to the
// alignment leaves at least 16 bytes in front: room to remember the block.
void* malloc_aligned(std::size_t bytes) {
    void* const raw = std::malloc(bytes + block_alignment);
    if (raw == nullptr) throw std::bad_alloc();
    const std::uintptr_t aligned = (reinterpret_cast<std::uintptr_t>(raw) + block_alignment) & ~(block_alignment - 1);
    reinterpret_cast<void**>(aligned)[-1] = raw;
    return reinterpret_cast<void*>(aligned);
}

void free_aligned(void* block) noexcept { std::free(static_cast<void**>(block)[-1]); }

// Hands a thread's cached blocks back to malloc when the thread ends.
struct Drain {
    ~Drain() {
        cache.closed = true;
        for (FreeBlock*& head : cache.heads)
            while (head != nullptr) {
                FreeBlock* const block = head;
                head = block->next;
                free_aligned(block);
            }
        cache.bytes = 0;
        while (cache.large_count > 0) free_aligned(cache.large[--cache.large_count].block);
        cache.large_bytes = 0;
    }
};

void register_drain() {
    if (cache.drain_registered) return;
    cache.drain_registered = true;
    thread_local Drain drain;
    (void)drain;
}

// A cached block of exactly `bytes` (> cached_up_to), or null.
void* take_large(std::size_t bytes) {
    for (std::size_t i = 0; i < cache.large_count; ++i)
        if (cache.large[i].bytes == bytes) {
            void* const block = cache.large[i].block;
            cache.large[i] = cache.large[--cache.large_count];
            cache.large_bytes -= bytes;
            return block;
        }
    return nullptr;
}

// Keeps a large block for reuse if there is room; false: the caller frees it.
bool keep_large(void* block, std::size_t bytes) {
    if (cache.closed || cache.large_count == large_slots || cache.large_bytes + bytes > max_cached_large_bytes)
        return false;
    register_drain();
    cache.large[cache.large_count++] = LargeBlock{block, bytes};
    cache.large_bytes += bytes;
    return true;
}

// 1 .. classes for a size of at most cached_up_to bytes.
std::size_t size_class(std::size_t bytes) { return bytes == 0 ? 1 : (bytes + class_bytes - 1) / class_bytes; }

}  // namespace

bool caches_blocks() noexcept { return TAPEGRAD_CACHE_BLOCKS; }

void* allocate_block(std::size_t bytes) {
    if (!TAPEGRAD_CACHE_BLOCKS) return malloc_aligned(bytes);
    if (bytes > cached_up_to) {
        void* const cached = take_large(bytes);
        return cached != nullptr ? cached : malloc_aligned(bytes);
    }
    const std::size_t c = size_class(bytes);
    FreeBlock*& head = cache.heads[c - 1];
    if (head == nullptr) return malloc_aligned(c * class_bytes);
    FreeBlock* const block = head;
    head = block->next;
    cache.bytes -= c * class_bytes;
    return block;
}

void free_block(void* block, std::size_t bytes) noexcept {
    if (block == nullptr) return;
    if (TAPEGRAD_CACHE_BLOCKS && bytes > cached_up_to && keep_large(block, bytes)) return;
    if (TAPEGRAD_CACHE_BLOCKS && bytes <= cached_up_to && !cache.closed) {
        const std::size_t c = size_class(bytes);
        if (cache.bytes + c * class_bytes <= max_cached_bytes) {
            register_drain();
            auto* const free = static_cast<FreeBlock*>(block);
            free->next = cache.heads[c - 1];
            cache.heads[c - 1] = free;
            cache.bytes += c * class_bytes;
            return;
        }
    }
    free_aligned(block);
}

}  // namespace tapegrad::memory
