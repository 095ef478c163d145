// The per-thread cache of small blocks behind allocator.hpp.
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

struct FreeBlock {
    FreeBlock* next;
};

// Plain data, constant-initialised: safe to use at any point of the thread's
// life, also after its thread_local destructors have run (then `closed`).
struct Cache {
    FreeBlock* heads[classes];
    std::size_t bytes;
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
    }
};

// 1 .. classes for a size of at most cached_up_to bytes.
std::size_t size_class(std::size_t bytes) { return bytes == 0 ? 1 : (bytes + class_bytes - 1) / class_bytes; }

}  // namespace

bool caches_blocks() noexcept { return TAPEGRAD_CACHE_BLOCKS; }

void* allocate_block(std::size_t bytes) {
    if (!TAPEGRAD_CACHE_BLOCKS || bytes > cached_up_to) return malloc_aligned(bytes);
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
    if (TAPEGRAD_CACHE_BLOCKS && bytes <= cached_up_to && !cache.closed) {
        const std::size_t c = size_class(bytes);
        if (cache.bytes + c * class_bytes <= max_cached_bytes) {
            if (!cache.drain_registered) {
                cache.drain_registered = true;
                thread_local Drain drain;
                (void)drain;
            }
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
