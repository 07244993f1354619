// The MPI side of data-parallel training: MPI started and ended around a program (run,
// Environment), and the collectives the rest of ctnn/distributed uses (Communicator).
//
//   int main(int argc, char** argv) {
//     return distributed::run(argc, argv, [&](distributed::Communicator& world) { ... });
//   }
//   $ mpirun -np 2 ./program
//
// No wait is unbounded: a collective that the other ranks don't join within the timeout
// (CommunicatorOptions::timeout, or CTNN_DISTRIBUTED_TIMEOUT seconds) fails with a
// DistributedError, and run() turns an exception on any rank into the end of the whole job, so a
// rank that crashes, hangs or leaves early makes the job fail with a message instead of hanging.
// MPI's error handler is set to return, so failed MPI calls become DistributedErrors too.
#pragma once
#include <mpi.h>

#include <algorithm>  // std::min
#include <chrono>
#include <cstddef>  // std::byte
#include <cstdio>
#include <cstdlib>  // std::getenv, std::strtod, std::abort
#include <exception>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <thread>  // std::this_thread::sleep_for
#include <type_traits>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"  // Error

namespace ctnn::distributed {

// A distributed operation failed: an MPI call returned an error, or other ranks didn't take
// part in a collective in time.
class DistributedError : public Error {
 public:
  using Error::Error;
};

// How long a collective waits for the other ranks: CTNN_DISTRIBUTED_TIMEOUT (seconds; 0 waits
// forever) when it is set, otherwise 10 minutes (PyTorch's NCCL default).
inline std::chrono::milliseconds default_timeout() {
  const char* text = std::getenv("CTNN_DISTRIBUTED_TIMEOUT");
  if (!text || !*text) return std::chrono::minutes(10);
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds >= 0))
    throw DistributedError(
        fmt::format("CTNN_DISTRIBUTED_TIMEOUT is '{}': give the collectives' timeout in seconds (0: none)", text));
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

struct CommunicatorOptions {
  // The longest any collective waits for the other ranks before it throws; 0: forever.
  std::chrono::milliseconds timeout = default_timeout();
};

// A communicator over the ranks of the job (a duplicate of MPI_COMM_WORLD, or of `base`, so
// ctnn's collectives never mix with the program's own), with MPI errors returned as exceptions.
class Communicator {
 public:
  explicit Communicator(CommunicatorOptions options = {}, MPI_Comm base = MPI_COMM_WORLD) : options_(options) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized)
      throw DistributedError("distributed::Communicator: MPI is not initialized (use distributed::run or Environment)");
    MPI_Comm_set_errhandler(base, MPI_ERRORS_RETURN);
    MPI_Comm_rank(base, &rank_);
    MPI_Comm_size(base, &size_);
    check(MPI_Comm_dup(base, &comm_), "MPI_Comm_dup", "the communicator's creation");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", "the communicator's creation");
  }
  ~Communicator() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm handle() const { return comm_; }
  const CommunicatorOptions& options() const { return options_; }

  // --- blocking (within the timeout); `what` names the operation in errors ---------------
  // Element-wise over the ranks, in place; every rank gets the same result.
  void sum(std::span<double> values, std::string_view what) { sum_of(values.data(), values.size(), MPI_DOUBLE, what); }
  void sum(std::span<float> values, std::string_view what) { sum_of(values.data(), values.size(), MPI_FLOAT, what); }
  // Every rank gets `root`'s values.
  void broadcast(std::span<float> values, int root, std::string_view what) {
    broadcast_of(values.data(), values.size(), MPI_FLOAT, root, what);
  }
  void broadcast(std::span<std::byte> bytes, int root, std::string_view what) {
    broadcast_of(bytes.data(), bytes.size(), MPI_BYTE, root, what);
  }
  void barrier(std::string_view what) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier", what);
    wait({&request, 1}, what);
  }

  // --- non-blocking -----------------------------------------------------------------------
  // Starts summing `values` over the ranks in place; they must stay put until it completes.
  MPI_Request start_sum(std::span<float> values, std::string_view what) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), count(values.size(), what), MPI_FLOAT, MPI_SUM, comm_, &request),
          "MPI_Iallreduce", what);
    return request;
  }
  // True when every request is complete. MPI advances non-blocking collectives only inside its
  // calls, so call this now and then while there is other work.
  bool test(std::span<MPI_Request> requests, std::string_view what) {
    int done = 0;
    check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall",
          what);
    return done != 0;
  }
  // Waits for every request, or throws once the timeout has passed.
  void wait(std::span<MPI_Request> requests, std::string_view what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    // Polls without pause at first (a collective in progress needs the calls to advance), then
    // with growing pauses while other ranks are late, so a waiting rank doesn't hold a core.
    auto pause = std::chrono::microseconds(0);
    while (!test(requests, what)) {
      const auto waited = clock::now() - start;
      if (options_.timeout.count() > 0 && waited > options_.timeout)
        throw DistributedError(fmt::format(
            "rank {} of {}: {} did not complete within {:.0f} s: another rank has stopped taking part (it crashed, "
            "hangs, or left the training loop early). If a rank may legitimately be this late, raise the timeout "
            "(CTNN_DISTRIBUTED_TIMEOUT seconds, or CommunicatorOptions::timeout)",
            rank_, size_, what, std::chrono::duration<double>(options_.timeout).count()));
      if (waited > std::chrono::milliseconds(2)) {
        pause = std::min(std::chrono::microseconds(1000), pause * 2 + std::chrono::microseconds(10));
        std::this_thread::sleep_for(pause);
      }
    }
  }

  // This rank's position among the ranks on its machine (from 0), e.g. to pick its GPU.
  int local_rank() {
    MPI_Comm local = MPI_COMM_NULL;
    check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local), "MPI_Comm_split_type",
          "finding the ranks on this machine");
    int rank = 0;
    MPI_Comm_rank(local, &rank);
    MPI_Comm_free(&local);
    return rank;
  }

  // Throws a DistributedError naming the rank, the call and what it was for, unless `code` is
  // MPI_SUCCESS.
  void check(int code, const char* call, std::string_view what) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    throw DistributedError(fmt::format("rank {} of {}: {} for {} failed: {}", rank_, size_, call, what,
                                       length ? std::string(text, static_cast<std::size_t>(length))
                                              : fmt::format("MPI error {}", code)));
  }

 private:
  int count(std::size_t n, std::string_view what) const {
    if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw DistributedError(fmt::format("rank {}: {}: {} elements are more than one MPI call can take", rank_, what, n));
    return static_cast<int>(n);
  }
  void sum_of(void* values, std::size_t n, MPI_Datatype type, std::string_view what) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, values, count(n, what), type, MPI_SUM, comm_, &request), "MPI_Iallreduce", what);
    wait({&request, 1}, what);
  }
  void broadcast_of(void* values, std::size_t n, MPI_Datatype type, int root, std::string_view what) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibcast(values, count(n, what), type, root, comm_, &request), "MPI_Ibcast", what);
    wait({&request, 1}, what);
  }

  CommunicatorOptions options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

// Ends the whole job from this rank: prints why to stderr, then MPI_Abort. The other ranks may
// be waiting for this one in a collective; MPI_Abort ends them too.
[[noreturn]] inline void abort_job(std::string_view why) {
  int rank = -1, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::string prefix = fmt::format("rank {} of {}: ", rank, size);  // DistributedErrors start so
  if (why.starts_with(prefix)) why.remove_prefix(prefix.size());
  std::fprintf(stderr, "ctnn::distributed: rank %d of %d failed: %.*s\n", rank, size, static_cast<int>(why.size()),
               why.data());
  std::fprintf(stderr, "ctnn::distributed: rank %d ends the job (MPI_Abort), so that no rank waits for it\n", rank);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort doesn't return
}

// MPI for the lifetime of this object: MPI_Init_thread (funneled: only the thread that
// created it calls MPI) and MPI_Finalize, unless MPI was initialized already. Leaving its scope
// by an exception ends the job instead (abort_job): MPI_Finalize would wait for ranks that may
// be waiting for this one.
class Environment {
 public:
  Environment(int& argc, char**& argv) { initialize(&argc, &argv); }
  Environment() { initialize(nullptr, nullptr); }
  ~Environment() {
    if (!owner_) return;
    if (std::uncaught_exceptions() > uncaught_) abort_job("an exception left the scope of distributed::Environment");
    MPI_Finalize();
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  void initialize(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw DistributedError("distributed::Environment: MPI_Init_thread failed");
    owner_ = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }

  bool owner_ = false;
  int uncaught_ = std::uncaught_exceptions();
};

// Runs body(world) as this process's part of an MPI job, with MPI started and ended around it.
// When body throws on a rank, that rank prints the error and ends the whole job (abort_job).
// Returns what body returns (0 when it returns nothing).
template <class Body>
int run(int& argc, char**& argv, Body&& body, CommunicatorOptions options = {}) {
  Environment environment(argc, argv);
  try {
    Communicator world(options);
    if constexpr (std::is_void_v<std::invoke_result_t<Body&, Communicator&>>) {
      body(world);
      return 0;
    } else {
      return static_cast<int>(body(world));
    }
  } catch (const std::exception& e) {
    abort_job(e.what());
  } catch (...) {
    abort_job("an exception that is not a std::exception");
  }
}

}  // namespace ctnn::distributed
