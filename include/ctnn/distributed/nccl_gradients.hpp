// NcclGradients: DataParallel's gradient transport for CUDA models. Each bucket is averaged
// in place on the GPU by NCCL (one ncclAllReduce with ncclAvg per gradient, grouped), on a
// stream of its own that first waits for the backward work queued so far, so the averaging
// overlaps the rest of backward; finish() waits for it (within the communicator's timeout,
// watching NCCL's asynchronous errors) and orders the backend's stream after it, so the
// optimizer step sees the means. MPI starts the job and carries NCCL's id to every rank.
//
//   distributed::run(argc, argv, [&](distributed::Communicator& world) {
//     distributed::use_local_gpu(world);  // before any CUDA work: one GPU per rank
//     Model<Net, Input<3, 32, 32>, Cuda> model(0);
//     distributed::DataParallel<decltype(model), distributed::NcclGradients> job(world, model);
//     ...
//   });
//
// Compile in a .cu translation unit; link ctnn::distributed_cuda (MPI, the CUDA backend and NCCL).
#pragma once
#include <nccl.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <thread>
#include <type_traits>

#include <fmt/core.h>

#include "ctnn/backend/cuda.hpp"              // Cuda, cuda::runtime
#include "ctnn/distributed/communicator.hpp"  // Communicator, DistributedError

namespace ctnn::distributed {

// Makes this rank use GPU (its rank on this machine) modulo the GPUs there, and returns it.
// Call it before anything touches CUDA: the CUDA backend binds to the device current then.
inline int use_local_gpu(Communicator& world) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
    throw DistributedError(fmt::format("rank {} of {}: no CUDA device for NCCL", world.rank(), world.size()));
  const int device = world.local_rank() % devices;
  if (const cudaError_t status = cudaSetDevice(device); status != cudaSuccess)
    throw DistributedError(fmt::format("rank {}: cudaSetDevice({}) failed: {}", world.rank(), device,
                                       cudaGetErrorString(status)));
  return device;
}

template <class Backend>
class NcclGradients {
  static_assert(std::is_same_v<Backend, Cuda>, "distributed::NcclGradients averages gradients of the CUDA backend");

 public:
  using Buffer = typename Backend::Buffer;

  explicit NcclGradients(Communicator& world) : world_(&world) {
    ncclUniqueId id{};
    if (world.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId", "the NCCL communicator's creation");
    world.broadcast(std::as_writable_bytes(std::span(&id, 1)), 0, "the broadcast of the NCCL communicator's id");
    check(ncclCommInitRank(&comm_, world.size(), id, world.rank()), "ncclCommInitRank", "the NCCL communicator's creation");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check_cuda(cudaEventCreateWithFlags(&backward_done_, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    check_cuda(cudaEventCreateWithFlags(&averaged_, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  }
  ~NcclGradients() {
    if (comm_) ncclCommDestroy(comm_);
    if (averaged_) cudaEventDestroy(averaged_);
    if (backward_done_) cudaEventDestroy(backward_done_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  NcclGradients(const NcclGradients&) = delete;
  NcclGradients& operator=(const NcclGradients&) = delete;

  void start(std::size_t, std::span<Buffer* const> gradients, const std::string& what) {
    if (!comm_) throw DistributedError(fmt::format("rank {}: the NCCL communicator was aborted", world_->rank()));
    // After the backward work queued so far, which wrote these gradients.
    check_cuda(cudaEventRecord(backward_done_, cuda::runtime().stream), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream_, backward_done_, 0), "cudaStreamWaitEvent");
    check(ncclGroupStart(), "ncclGroupStart", what);
    for (Buffer* g : gradients)
      check(ncclAllReduce(g->data(), g->data(), g->size(), ncclFloat, ncclAvg, comm_, stream_), "ncclAllReduce", what);
    check(ncclGroupEnd(), "ncclGroupEnd", what);
    pending_ = what;
  }

  void progress() {}  // NCCL runs on the GPU by itself

  void finish() {
    if (pending_.empty()) return;
    check_cuda(cudaEventRecord(averaged_, stream_), "cudaEventRecord");
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    const auto timeout = world_->options().timeout;
    for (;;) {
      const cudaError_t state = cudaEventQuery(averaged_);
      if (state == cudaSuccess) break;
      if (state != cudaErrorNotReady) check_cuda(state, "cudaEventQuery");
      ncclResult_t async = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError", pending_);
      check(async, "an asynchronous NCCL operation", pending_);
      if (timeout.count() > 0 && clock::now() - started > timeout) {
        ncclCommAbort(comm_);  // frees the GPU work waiting for the other ranks
        comm_ = nullptr;
        throw DistributedError(fmt::format(
            "rank {} of {}: {} (NCCL) did not complete within {:.0f} s: another rank has stopped taking part",
            world_->rank(), world_->size(), pending_, std::chrono::duration<double>(timeout).count()));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    check_cuda(cudaStreamWaitEvent(cuda::runtime().stream, averaged_, 0), "cudaStreamWaitEvent");
    pending_.clear();
  }

 private:
  void check(ncclResult_t result, const char* call, const std::string& what) const {
    if (result == ncclSuccess) return;
    const char* last = comm_ ? ncclGetLastError(comm_) : nullptr;
    throw DistributedError(fmt::format("rank {} of {}: {} for {} failed: {}{}", world_->rank(), world_->size(), call,
                                       what, ncclGetErrorString(result), last && *last ? fmt::format(" ({})", last) : ""));
  }
  void check_cuda(cudaError_t status, const char* call) const {
    if (status != cudaSuccess)
      throw DistributedError(fmt::format("rank {}: {} for the NCCL gradients failed: {}", world_->rank(), call,
                                         cudaGetErrorString(status)));
  }

  Communicator* world_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t backward_done_ = nullptr, averaged_ = nullptr;
  std::string pending_;  // what was started since the last finish (for errors); empty: nothing
};

}  // namespace ctnn::distributed
