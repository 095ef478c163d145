// The memory behind tensors (autograd/allocator.hpp): aligned blocks, reused
// on the thread that freed them, safe to free on another thread.
#include <cstdint>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

namespace {
bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % memory::block_alignment == 0; }
}  // namespace

TEST_CASE("every value buffer is aligned for xsimd, cached sizes and large ones alike") {
    CHECK(memory::block_alignment >= 64);
    for (std::size_t n : {1u, 3u, 15u, 16u, 17u, 255u, 1023u, 1024u, 1025u, 5000u, 300000u}) {
        CAPTURE(n);
        Array<float> f = Array<float>::from_shape({n});
        Array<double> d = Array<double>::from_shape({n});
        CHECK(aligned(f.data()));
        CHECK(aligned(d.data()));
    }
    // And what a recorded op produces.
    auto x = Tensor<float>::full({7, 3}, 0.5f, true);
    CHECK(aligned(tanh(x).data().data()));
}

TEST_CASE("a freed small block is handed out again for the same size class") {
    if (!memory::caches_blocks()) return;  // sanitizer builds free every block
    void* first = memory::allocate_block(100);
    memory::free_block(first, 100);
    void* again = memory::allocate_block(120);  // 100 and 120 bytes share the 128-byte class
    CHECK(again == first);
    memory::free_block(again, 120);
    void* other = memory::allocate_block(200);  // another class
    CHECK(other != first);
    memory::free_block(other, 200);
}

TEST_CASE("a freed large block is handed out again for exactly its size") {
    if (!memory::caches_blocks()) return;  // sanitizer builds free every block
    const std::size_t megabyte = std::size_t(1) << 20;
    void* first = memory::allocate_block(megabyte);
    memory::free_block(first, megabyte);
    void* other = memory::allocate_block(megabyte + 64);  // another size: not that block
    CHECK(other != first);
    void* again = memory::allocate_block(megabyte);
    CHECK(again == first);
    memory::free_block(other, megabyte + 64);
    memory::free_block(again, megabyte);
    // More than the cache holds (64 MiB) goes back to malloc, and what is
    // handed out is still whole and writable.
    std::vector<void*> blocks;
    for (int i = 0; i < 40; ++i) blocks.push_back(memory::allocate_block(4 * megabyte));
    for (void* b : blocks) static_cast<char*>(b)[4 * megabyte - 1] = 1;
    for (void* b : blocks) memory::free_block(b, 4 * megabyte);
}

TEST_CASE("values are intact across reuse and blocks freed on other threads") {
    // Graphs built on one thread and freed on another: the blocks go to the
    // freeing thread's cache, which is emptied when that thread ends.
    std::vector<Tensor<double>> made;
    for (int i = 0; i < 200; ++i) made.push_back(Tensor<double>::full({4, 4}, double(i), true) * 2.0);
    std::thread([moved = std::move(made)]() mutable { moved.clear(); }).join();
    std::thread([] {
        auto x = Tensor<double>::full({8}, 1.5, true);
        sum(x * x).backward();
        CHECK(x.grad().at({7}) == 3.0);
    }).join();
    for (int i = 0; i < 200; ++i) {
        Tensor<double> t = Tensor<double>::full({4, 4}, double(i));
        CHECK(t.at({3, 3}) == double(i));
    }
}
