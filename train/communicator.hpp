/// \file
/// The seam between training and a communication engine: what a Trainer
/// needs from the other processes of a data-parallel job (its rank, the
/// number of processes, sums and broadcasts), with no engine in sight. The
/// dist/ layer implements it over MPI (dist/mpi.hpp); train/ never includes MPI.
#pragma once

#include <cstddef>

namespace tapegrad::train {

/// The processes of one data-parallel job, as a Trainer sees them: every
/// process runs the same program on the same data, and calls the collective
/// functions below in the same order with the same sizes (as MPI's
/// collectives must be called). A process that fails ends the whole job (the
/// implementation's business, see dist/mpi.hpp), so no call waits forever
/// for a dead peer.
class Communicator {
public:
    virtual ~Communicator() = default;

    /// This process's number, 0 to size() - 1.
    virtual std::size_t rank() const = 0;
    /// How many processes the job has, at least 1.
    virtual std::size_t size() const = 0;
    /// Whether this process writes the job's files (checkpoints, metrics,
    /// models) and prints its reports: rank 0 alone.
    bool writer() const { return rank() == 0; }

    /// Replaces `bytes` (`count` of them) on every process by rank 0's.
    virtual void broadcast(void* bytes, std::size_t count) = 0;
    /// Replaces `values` on every process by their sum over the processes;
    /// blocks until done. Every process gets the same bits.
    virtual void allreduce_sum(double* values, std::size_t count) = 0;
    /// Starts replacing `values` by their sum over the processes and returns
    /// at once; the buffer must stay untouched until wait_all(). Sums are
    /// started in the same order on every process.
    virtual void start_allreduce_sum(float* values, std::size_t count) = 0;
    /// The same for doubles.
    virtual void start_allreduce_sum(double* values, std::size_t count) = 0;
    /// Lets the started sums advance without waiting (an engine without a
    /// progress thread moves only when called); does nothing by default.
    virtual void progress() {}
    /// Waits until every started sum is done.
    virtual void wait_all() = 0;
};

}  // namespace tapegrad::train
