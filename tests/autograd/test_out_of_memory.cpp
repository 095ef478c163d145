// Out of memory in the middle of a backward pass: the engine promises that a
// pass that throws changes nothing (tape.hpp, run_backward). Its own binary,
// as it replaces the global operator new with one that can be told to fail.
#include <cstdlib>
#include <new>
#include <thread>

#include <doctest/doctest.h>

#include <tapegrad/autograd/ops.hpp>

namespace {
// Allocations this thread may still make before operator new fails; < 0: no limit.
thread_local long allocations_left = -1;
}  // namespace

void* operator new(std::size_t size) {
    if (allocations_left == 0) throw std::bad_alloc();
    if (allocations_left > 0) --allocations_left;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace tapegrad;

TEST_CASE("a backward pass that runs out of memory throws bad_alloc and changes nothing, wherever it fails") {
    // Each round fails one allocation later, until a pass needs no more than
    // it was allowed. Before the fix, giving a scratch vector back to the
    // pass's pool while unwinding allocated, threw again from a destructor,
    // and called std::terminate (the allocations 2 to 23 of a pass).
    bool completed = false;
    for (long allowed = 0; allowed < 10000 && !completed; ++allowed) {
        CAPTURE(allowed);
        std::thread([&] {  // a fresh thread: its pass's pool starts empty, and grows
            auto x = Tensor<double>::of({0.5, -1.0, 2.0}, true);
            x.set_grad(Tensor<double>::of({1.0, 1.0, 1.0}));
            Tensor<double> y = x;
            for (int i = 0; i < 40; ++i) y = exp(mul(y, 0.5));
            const Tensor<double> loss = sum(y);
            allocations_left = allowed;
            try {
                loss.backward();
                allocations_left = -1;
                completed = true;
            } catch (const std::bad_alloc&) {
                allocations_left = -1;
                CHECK(x.grad().data() == Tensor<double>::of({1.0, 1.0, 1.0}).data());  // unchanged
            }
        }).join();
    }
    CHECK(completed);
}
