/// \file
/// Data-parallel training over MPI (Open MPI): the processes of a job started
/// by `mpirun -np N program ...` as a train::Communicator for
/// train::Trainer::distribute, and the rules that end the whole job when one
/// process fails. Built when meson finds MPI (option `mpi`; TAPEGRAD_HAS_MPI in
/// <tapegrad/config.hpp>). This header does not include <mpi.h>: a program
/// using it compiles without MPI's headers, and links libtapegrad, which links MPI.
///
/// \code
///   int main(int argc, char** argv) {
///       dist::Mpi mpi(argc, argv);            // one process alone when not started by mpirun
///       ...
///       trainer.distribute(mpi);              // every process trains its share of each batch
///       trainer.run();
///       if (mpi.writer()) io::write_file_atomically(...);
///   }
/// \endcode
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <tapegrad/train/communicator.hpp>

/// Training on several processes and machines: the MPI implementation of
/// train::Communicator.
namespace tapegrad::dist {

/// Whether this process was started by an MPI launcher: `mpirun`/`mpiexec`
/// of Open MPI (OMPI_COMM_WORLD_SIZE), or one using PMI or PMIx (MPICH's
/// hydra, Slurm's srun: PMI_SIZE, PMIX_RANK).
bool launched_by_mpi();

/// The processes of one MPI job (MPI_COMM_WORLD), at most one per process.
/// Started by a launcher, it initialises MPI; otherwise the process is a job
/// of its own (rank 0 of 1) and MPI is never initialised, so the program runs
/// as it would without MPI. Collectives wait for every process; a job whose
/// process fails must not wait for it: a process that dies (a signal, an
/// exit without finish()) is noticed by mpirun, which ends the others;
/// an exception escaping main() (std::terminate) calls MPI_Abort; and a
/// program that fails on one process calls finish() or abort().
class Mpi final : public train::Communicator {
public:
    /// Initialises MPI when launched_by_mpi() (MPI_Init_thread, MPI_THREAD_FUNNELED:
    /// only the thread that built it calls MPI) with its own copy of
    /// MPI_COMM_WORLD, and installs a std::terminate handler that names this
    /// rank and aborts the whole job. Throws tapegrad::Error if an Mpi was
    /// built before in this process (MPI starts once).
    Mpi(int& argc, char**& argv);
    /// Finalises MPI (MPI_Finalize waits for the other processes to get there).
    ~Mpi() override;
    Mpi(const Mpi&) = delete;
    Mpi& operator=(const Mpi&) = delete;

    /// This process's rank in the job, 0 without a launcher.
    std::size_t rank() const override { return rank_; }
    /// The number of processes in the job, 1 without a launcher.
    std::size_t size() const override { return size_; }
    /// Whether MPI was initialised (started by a launcher, even with one process).
    bool active() const { return active_; }

    /// MPI_Bcast from rank 0.
    void broadcast(void* bytes, std::size_t count) override;
    /// MPI_Allreduce, then rank 0's result broadcast, so that every process
    /// has the same bits whatever algorithm MPI chose.
    void allreduce_sum(double* values, std::size_t count) override;
    /// MPI_Iallreduce, in place.
    void start_allreduce_sum(float* values, std::size_t count) override;
    /// MPI_Iallreduce, in place.
    void start_allreduce_sum(double* values, std::size_t count) override;
    /// MPI_Testall on the started sums: Open MPI advances them only inside its calls.
    void progress() override;
    /// MPI_Waitall on the started sums.
    void wait_all() override;

    /// Ends the whole job at once with exit status `code` (MPI_Abort), after
    /// writing "rank R: message" on stderr; without a launcher (or with one
    /// process) it only writes the message and exits with `code`.
    [[noreturn]] void abort(int code, const std::string& message) const;
    /// What main() returns: `code` itself when it is 0 or the job has one
    /// process; any other code ends the whole job with it (MPI_Abort), since
    /// the other processes may be waiting for this one in a collective and
    /// MPI_Finalize would wait for them.
    int finish(int code) const;

private:
    struct Requests;
    bool active_ = false;
    std::size_t rank_ = 0, size_ = 1;
    std::unique_ptr<Requests> requests_;
};

}  // namespace tapegrad::dist
