// Data-parallel training over MPI (docs/distributed.md): the communicator and run(), the
// DataParallel rank side of training, and SyncBN. Link ctnn::distributed (CMake, where MPI is
// found); NCCL for CUDA models is in ctnn/distributed/nccl_gradients.hpp (ctnn::distributed_cuda).
#pragma once
#include "ctnn/distributed/communicator.hpp"
#include "ctnn/distributed/data_parallel.hpp"
#include "ctnn/distributed/gradient_buckets.hpp"
#include "ctnn/distributed/sync_batch_norm.hpp"
