/// \file
/// Seeded randomness that is the same on every platform and standard
/// library: std::shuffle and std::uniform_int_distribution are not specified
/// exactly, so a split or an epoch order built on them could change between
/// compilers and break resumed runs. Everything here is spelled out instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tapegrad {

/// A well-mixed seed for sub-stream `stream` of `seed` (e.g. one per epoch), so
/// nearby seeds and streams still give unrelated orders.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

/// The global seed source, like torch::manual_seed: whatever is built without
/// an explicit seed (a Linear layer, a shuffling loader, gradcheck's samples)
/// draws one from it, so two such layers start differently, and a program
/// that calls manual_seed(s) first builds the same ones on every run. Before
/// any manual_seed it starts from a fixed default, so runs repeat anyway.
/// Thread-safe: a mutex guards the generator, so concurrent draws each get a
/// distinct seed (which thread gets which follows the scheduler).
void manual_seed(std::uint64_t seed);
/// The next seed from this thread's SeedScope if one is open, else from the
/// global source (see manual_seed()). Thread-safe.
std::uint64_t draw_seed();

/// RAII: while one is alive, draw_seed() on this thread draws from a generator
/// of its own, started from `seed`, instead of the global source; the
/// destructor restores the source before it (scopes nest). What is drawn
/// inside depends only on `seed` and the draws before it in the scope, never
/// on other threads or on draws before the scope: train::Trainer opens one per
/// training batch, seeded by (TrainerOptions::seed, epoch, batch), so the
/// dropout masks drawn in it repeat when a run resumes from a checkpoint.
/// Create and destroy it on the same thread.
class SeedScope {
public:
    /// Makes this scope's generator, seeded by `seed`, this thread's source.
    explicit SeedScope(std::uint64_t seed);
    /// Gives the thread back the source found by the constructor.
    ~SeedScope();
    SeedScope(const SeedScope&) = delete;
    SeedScope& operator=(const SeedScope&) = delete;

private:
    friend std::uint64_t draw_seed();
    friend std::optional<std::uint64_t> seed_scope_state();
    std::uint64_t state_;
    SeedScope* previous_;
};

/// Where the innermost SeedScope open on this thread stands, as a seed: a
/// SeedScope opened with it (on any thread) draws the numbers this thread's
/// scope draws next. nullopt when no SeedScope is open on this thread (its
/// draws come from the global source). What carries a batch's scope to the
/// threads that share the batch (train::ThreadContext).
std::optional<std::uint64_t> seed_scope_state();

/// A uniformly random permutation of 0..n-1, fixed by the seed.
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed);

}  // namespace tapegrad
