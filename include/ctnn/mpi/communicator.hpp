#pragma once
// ctnn::mpi::Communicator: the MPI calls data-parallel training makes, over a communicator it
// wraps (MPI_COMM_WORLD by default), with every failure turned into ctnn::mpi::Error carrying
// MPI's own error string. Standard MPI-3 only (builds against Open MPI and MPICH).
//
//   int main(int argc, char** argv) {
//     return ctnn::mpi::run(argc, argv, [&](ctnn::mpi::Communicator& comm) { ...; return 0; });
//   }
//
// run() initialises MPI (Environment) and turns an exception on any process into the end of
// every process: the process prints "ctnn: process R of N: <message>" and calls MPI_Abort, so
// the job exits non-zero with that message instead of hanging in the others' next collective.
#include <mpi.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ctnn::mpi {

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, int code_) : std::runtime_error(what), code(code_) {}
  int code;  // the MPI error code
};

inline std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

// Throws Error naming the call when rc is not MPI_SUCCESS.
inline void check(int rc, const char* call) {
  if (rc != MPI_SUCCESS) throw Error(std::string("ctnn::mpi: ") + call + " failed: " + error_string(rc), rc);
}

// The MPI datatype of a C++ arithmetic type.
template <class T>
MPI_Datatype datatype() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<U, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<U, int>) return MPI_INT;
  else if constexpr (std::is_same_v<U, std::int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<U, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<U, std::uint8_t>) return MPI_UINT8_T;
  else static_assert(sizeof(U) == 0, "ctnn::mpi::datatype: no MPI datatype for this type");
}

// MPI_Init_thread / MPI_Finalize, when MPI is not initialised yet (else it does nothing). Asks
// for MPI_THREAD_FUNNELED: ctnn calls MPI from the thread that runs the training loop only
// (OpenMP workers and the data loader's thread never do).
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owned_ = true;
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized) MPI_Finalize();
  }

 private:
  bool owned_ = false;
};

class Communicator {
 public:
  // Wraps `comm` (not owned; MPI must be initialised). Its error handler becomes
  // MPI_ERRORS_RETURN, so that failing calls return codes this class turns into Error.
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool is_root() const noexcept { return rank_ == 0; }
  MPI_Comm get() const noexcept { return comm_; }

  // In place: data becomes its element-wise sum (or max) over every process.
  template <class T>
  void allreduce_sum(std::span<T> data) const {
    check(MPI_Allreduce(MPI_IN_PLACE, data.data(), count(data.size()), datatype<T>(), MPI_SUM, comm_), "MPI_Allreduce");
  }
  template <class T>
  void allreduce_max(std::span<T> data) const {
    check(MPI_Allreduce(MPI_IN_PLACE, data.data(), count(data.size()), datatype<T>(), MPI_MAX, comm_), "MPI_Allreduce");
  }
  // The non-blocking sum, in place; complete it with wait_all() (or MPI_Test/MPI_Wait).
  template <class T>
  MPI_Request iallreduce_sum(std::span<T> data) const {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, data.data(), count(data.size()), datatype<T>(), MPI_SUM, comm_, &request),
          "MPI_Iallreduce");
    return request;
  }
  // data on every process becomes root's.
  template <class T>
  void broadcast(std::span<T> data, int root = 0) const {
    check(MPI_Bcast(data.data(), count(data.size()), datatype<T>(), root, comm_), "MPI_Bcast");
  }
  // out[r * in.size() + i] = process r's in[i].
  template <class T>
  void allgather(std::span<const T> in, std::span<T> out) const {
    if (out.size() != in.size() * static_cast<std::size_t>(size_))
      throw std::invalid_argument("ctnn::mpi::Communicator::allgather: out must hold in.size() x size() values");
    check(MPI_Allgather(in.data(), count(in.size()), datatype<T>(), out.data(), count(in.size()), datatype<T>(), comm_),
          "MPI_Allgather");
  }
  void barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }
  // True on every process when `mine` is true on any: for decisions all processes must take
  // alike (skip a step, stop), lest one leave a collective the others wait in.
  bool any(bool mine) const {
    int flag[1] = {mine ? 1 : 0};
    allreduce_max(std::span<int>(flag));
    return flag[0] != 0;
  }

  // Drives the requests' progress (MPI_Testall); true when all have completed.
  static bool test_all(std::span<MPI_Request> requests) {
    int done = 0;
    check(MPI_Testall(count(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    return done != 0;
  }
  static void wait_all(std::span<MPI_Request> requests) {
    check(MPI_Waitall(count(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  }

  // Ends every process of the communicator: prints "ctnn: process R of N: <message>" on
  // stderr, then MPI_Abort(exit_code). Never returns.
  [[noreturn]] void abort_all(const std::string& message, int exit_code = 1) const noexcept {
    std::fprintf(stderr, "ctnn: process %d of %d: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(comm_, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; in case an implementation does
  }

 private:
  static int count(std::size_t n) {
    if (n > static_cast<std::size_t>(INT_MAX))
      throw std::length_error("ctnn::mpi: " + std::to_string(n) + " elements exceed an MPI count (int)");
    return static_cast<int>(n);
  }
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

// True when this process was started by an MPI launcher (mpirun / mpiexec of Open MPI or MPICH,
// Slurm's srun --mpi=pmix): a program that also runs alone can then leave MPI uninitialised
// when it is started by hand (Open MPI's singleton start costs time and is refused in some
// containers). Reads the variables the launchers set; it calls no MPI function.
inline bool launched_by_mpiexec() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

// Initialises MPI, runs fn(world) and returns its exit code; an exception escaping fn on any
// process ends every process with that process's message (Communicator::abort_all, exit 1).
template <class F>
int run(int& argc, char**& argv, F&& fn) {
  Environment env(argc, argv);
  Communicator world;
  try {
    return fn(world);
  } catch (const std::exception& e) {
    world.abort_all(e.what());
  } catch (...) {
    world.abort_all("an exception that is not a std::exception");
  }
}

}  // namespace ctnn::mpi
