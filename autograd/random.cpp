#include <tapegrad/autograd/random.hpp>

#include <mutex>
#include <numeric>
#include <utility>

namespace tapegrad {

namespace {

// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and its output is fully
// defined by its 64-bit state.
// One step on a bare state, so a SeedScope can hold the state itself.
std::uint64_t splitmix64_next(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() { return splitmix64_next(state_); }
    // Uniform in [0, bound): rejects the top sliver of the range that would
    // make `% bound` favour small values.
    std::uint64_t below(std::uint64_t bound) {
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
        std::uint64_t x = next();
        while (x >= limit) x = next();
        return x % bound;
    }

private:
    std::uint64_t state_;
};

// The global seed source (random.hpp). SplitMix64 because each draw is one
// well-mixed 64-bit value and its whole state is the one seed manual_seed
// sets. The default is PyTorch's default CPU seed, for want of a better one.
struct GlobalSeeds {
    std::mutex mutex;
    SplitMix64 generator{67280421310721ULL};
};
GlobalSeeds& global_seeds() {
    static GlobalSeeds seeds;  // constructed on first use: safe from other static initialisers
    return seeds;
}

// The innermost SeedScope open on this thread, if any.
thread_local SeedScope* current_scope = nullptr;

}  // namespace

void manual_seed(std::uint64_t seed) {
    GlobalSeeds& seeds = global_seeds();
    std::lock_guard<std::mutex> lock(seeds.mutex);
    seeds.generator = SplitMix64(seed);
}

SeedScope::SeedScope(std::uint64_t seed) : state_(seed), previous_(current_scope) { current_scope = this; }

SeedScope::~SeedScope() { current_scope = previous_; }

std::optional<std::uint64_t> seed_scope_state() {
    if (!current_scope) return std::nullopt;
    return current_scope->state_;
}

std::uint64_t draw_seed() {
    if (current_scope) return splitmix64_next(current_scope->state_);
    GlobalSeeds& seeds = global_seeds();
    std::lock_guard<std::mutex> lock(seeds.mutex);
    return seeds.generator.next();
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
    return SplitMix64(SplitMix64(seed).next() ^ stream).next();
}

std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    SplitMix64 rng(seed);
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates
        const auto j = static_cast<std::size_t>(rng.below(i));
        std::swap(order[i - 1], order[j]);
    }
    return order;
}

}  // namespace tapegrad
