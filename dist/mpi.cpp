#include <tapegrad/dist/mpi.hpp>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

// The C API alone: MPI-2 C++ bindings are deprecated (and warn).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <tapegrad/autograd/error.hpp>

namespace tapegrad::dist {

struct Mpi::Requests {
    MPI_Comm comm = MPI_COMM_NULL;
    std::vector<MPI_Request> pending;
};

namespace {
std::atomic<bool> built{false};
int terminate_rank = -1;  // the rank the terminate handler names

// MPI counts are ints: a larger buffer goes in pieces.
constexpr std::size_t max_count = INT_MAX;

[[noreturn]] void terminate_job() {
    std::string what = "an unknown exception";
    if (const std::exception_ptr current = std::current_exception()) {
        try {
            std::rethrow_exception(current);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
    } else {
        what = "std::terminate";
    }
    std::fprintf(stderr, "rank %d: %s; ending the job\n", terminate_rank, what.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
}  // namespace

bool launched_by_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
        if (std::getenv(name)) return true;
    return false;
}

Mpi::Mpi(int& argc, char**& argv) : requests_(std::make_unique<Requests>()) {
    if (built.exchange(true)) throw Error("dist::Mpi: MPI was started before in this process (one Mpi per process)");
    if (!launched_by_mpi()) return;
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    active_ = true;
    MPI_Comm_dup(MPI_COMM_WORLD, &requests_->comm);
    int rank = 0, size = 1;
    MPI_Comm_rank(requests_->comm, &rank);
    MPI_Comm_size(requests_->comm, &size);
    rank_ = std::size_t(rank);
    size_ = std::size_t(size);
    terminate_rank = rank;
    std::set_terminate(terminate_job);
}

Mpi::~Mpi() {
    if (!active_) return;
    // Requests never waited for (an exception between start and wait): the
    // job is failing anyway; MPI_Finalize must not see them.
    if (!requests_->pending.empty()) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Comm_free(&requests_->comm);
    MPI_Finalize();
}

void Mpi::broadcast(void* bytes, std::size_t count) {
    if (!active_) return;
    char* data = static_cast<char*>(bytes);
    for (std::size_t done = 0; done < count; done += max_count)
        MPI_Bcast(data + done, int(std::min(max_count, count - done)), MPI_BYTE, 0, requests_->comm);
}

void Mpi::allreduce_sum(double* values, std::size_t count) {
    if (!active_) return;
    for (std::size_t done = 0; done < count; done += max_count)
        MPI_Allreduce(MPI_IN_PLACE, values + done, int(std::min(max_count, count - done)), MPI_DOUBLE, MPI_SUM,
                      requests_->comm);
    broadcast(values, count * sizeof(double));
}

namespace {
template <class T>
void start_sum(MPI_Comm comm, std::vector<MPI_Request>& pending, T* values, std::size_t count) {
    for (std::size_t done = 0; done < count; done += max_count) {
        pending.emplace_back();
        MPI_Iallreduce(MPI_IN_PLACE, values + done, int(std::min(max_count, count - done)), mpi_type<T>(), MPI_SUM,
                       comm, &pending.back());
    }
}
}  // namespace

void Mpi::start_allreduce_sum(float* values, std::size_t count) {
    if (active_) start_sum(requests_->comm, requests_->pending, values, count);
}

void Mpi::start_allreduce_sum(double* values, std::size_t count) {
    if (active_) start_sum(requests_->comm, requests_->pending, values, count);
}

void Mpi::progress() {
    if (requests_->pending.empty()) return;
    int done = 0;
    MPI_Testall(int(requests_->pending.size()), requests_->pending.data(), &done, MPI_STATUSES_IGNORE);
    if (done) requests_->pending.clear();
}

void Mpi::wait_all() {
    if (requests_->pending.empty()) return;
    MPI_Waitall(int(requests_->pending.size()), requests_->pending.data(), MPI_STATUSES_IGNORE);
    requests_->pending.clear();
}

void Mpi::abort(int code, const std::string& message) const {
    std::fprintf(stderr, "rank %zu: %s\n", rank_, message.c_str());
    std::fflush(stderr);
    if (active_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

int Mpi::finish(int code) const {
    if (code != 0 && active_ && size_ > 1) {
        std::fflush(stdout);
        std::fprintf(stderr, "rank %zu: exit status %d; ending the job\n", rank_, code);
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
    return code;
}

}  // namespace tapegrad::dist
