// Data-parallel training over MPI: every rank holds the whole model and trains on its share of
// each batch (data::LoaderOptions::rank and ranks); before each optimizer step the gradients
// are averaged over the ranks, so the parameters stay the same on every rank and a step is the
// step one process would take on the ranks' batches together.
//
//   distributed::run(argc, argv, [&](distributed::Communicator& world) {
//     Model<Net, Input<3, 32, 32>, Cpu> model(/*seed=*/0);
//     distributed::DataParallel job(world, model);        // rank 0's parameters everywhere
//     data::Loader train{data.train, 64, augment::seed_cifar10(),
//                        {.seed = 1, .rank = world.rank(), .ranks = world.size()}};
//     train::Trainer trainer{model, optim::Adam(model.parameters()), loss::CrossEntropy<Cpu>{}};
//     trainer.distribute(job);
//     trainer.fit(train, test, {.epochs = 10, .checkpoint = "run.safetensors"});  // rank 0 writes it
//   });
//
// What it does (docs/distributed.md has more):
// - at construction, copies rank 0's parameters and buffers to every rank, and gives each
//   rank a dropout stream of its own;
// - during backward, averages the gradients in buckets (gradient_buckets.hpp) with
//   non-blocking all-reduces that overlap the rest of backward; finish_gradients() (the
//   Trainer calls it before each optimizer step) waits for them;
// - averages BN's running statistics over the ranks after every epoch (synchronize_buffers);
//   SyncBN layers (sync_batch_norm.hpp) normalise by the whole job's batch instead;
// - sums the trainer's figures over the ranks (sum).
// Without the Trainer: model.backward(...), then job.finish_gradients(), then optimizer.step().
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ctnn/core/parameters.hpp"              // ParameterList
#include "ctnn/distributed/communicator.hpp"     // Communicator
#include "ctnn/distributed/gradient_buckets.hpp"  // GradientBuckets
#include "ctnn/train/collective.hpp"             // Collective
#include "ctnn/train/trainer.hpp"                // detail::model_backend

namespace ctnn::distributed {

// Averages buckets of host-memory gradients (the CPU backend's) with MPI_Iallreduce: each
// bucket is copied into one contiguous buffer, summed in place, and copied back divided by the
// number of ranks.
template <class Backend>
class MpiGradients {
 public:
  using Buffer = typename Backend::Buffer;
  static_assert(requires(Buffer& b) { b.host(); },
                "distributed::MpiGradients averages gradients in host memory; on GPUs use NcclGradients");

  explicit MpiGradients(Communicator& world) : world_(&world) {}

  void start(std::size_t bucket, std::span<Buffer* const> gradients, const std::string& what) {
    if (world_->size() == 1) return;
    if (flat_.size() <= bucket) flat_.resize(bucket + 1);
    auto& flat = flat_[bucket];
    flat.clear();
    for (const Buffer* g : gradients) flat.insert(flat.end(), g->host().begin(), g->host().end());
    requests_.push_back(world_->start_sum(flat, what));
    started_.push_back({bucket, gradients, what});
  }

  void progress() {
    if (!requests_.empty()) world_->test(requests_, started_.front().what);
  }

  void finish() {
    if (requests_.empty()) return;
    world_->wait(requests_, started_.size() == 1 ? started_.front().what : "the all-reduces of the gradient buckets");
    const float scale = 1.0f / static_cast<float>(world_->size());
    for (const auto& s : started_) {
      const float* sum = flat_[s.bucket].data();
      for (Buffer* g : s.gradients)
        for (float& v : g->host()) v = *sum++ * scale;
    }
    requests_.clear();
    started_.clear();
  }

 private:
  struct Started {
    std::size_t bucket;
    std::span<Buffer* const> gradients;
    std::string what;
  };
  Communicator* world_;
  std::vector<std::vector<float>> flat_;  // per bucket, reused from step to step
  std::vector<MPI_Request> requests_;
  std::vector<Started> started_;
};

struct DataParallelOptions {
  // Gradients are averaged in buckets of about this many bytes, each started as soon as
  // backward has produced all of its gradients (PyTorch DDP's bucket_cap_mb: 25 MB). Smaller
  // buckets start sooner and overlap more of backward, at more messages per step.
  std::size_t bucket_bytes = std::size_t{25} << 20;
};

// One rank's side of data-parallel training of `model` (which it attaches itself to; both
// must outlive it). Transport averages the gradient buckets: MpiGradients for the CPU backend,
// NcclGradients (nccl_gradients.hpp) for the CUDA one.
template <class ModelT, template <class> class Transport = MpiGradients>
class DataParallel final : public train::Collective {
 public:
  using Backend = typename train::detail::model_backend<ModelT>::type;

  DataParallel(Communicator& world, ModelT& model, DataParallelOptions options = {})
      : world_(&world), model_(&model), transport_(world), buckets_(model.parameters(), options.bucket_bytes) {
    broadcast_parameters();
    auto& context = model.context();
    context.on_gradients = [this](const ParameterList<Backend>& done) { buckets_.ready(done, transport_); };
    context.sum_over_processes = [this](std::span<double> values) { world_->sum(values, "SyncBN's batch statistics"); };
    // The same seed on every rank would give every rank the same dropout masks.
    for (int r = 0; r < world.rank(); ++r) context.rng = context.rng.split();
  }
  ~DataParallel() {
    auto& context = model_->context();
    context.on_gradients = nullptr;
    context.sum_over_processes = nullptr;
  }
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // --- train::Collective ------------------------------------------------------------------
  int rank() const override { return world_->rank(); }
  int size() const override { return world_->size(); }
  void sum(std::span<double> values) override { world_->sum(values, "the training figures"); }
  // Waits until every gradient of the last backward holds its mean over the ranks.
  void finish_gradients() override { buckets_.finish(transport_); }
  // Each buffer (BN's running statistics) becomes its mean over the ranks.
  void synchronize_buffers() override {
    if (world_->size() == 1) return;
    auto buffers = model_->parameters();
    std::erase_if(buffers, [](const ParameterRef<Backend>& p) { return p.trainable(); });
    std::vector<double> values;
    for (auto& p : buffers)
      for (float v : p.value->to_vector()) values.push_back(v);
    if (values.empty()) return;
    world_->sum(values, "the average of the buffers (BN running statistics)");
    std::size_t at = 0;
    for (auto& p : buffers) {
      std::vector<float> mean(p.value->size());
      for (float& v : mean) v = static_cast<float>(values[at++] / world_->size());
      p.value->assign(mean);
    }
  }

  // Copies rank 0's parameters and buffers to every rank (the constructor does; again after
  // loading weights on rank 0 alone, for instance).
  void broadcast_parameters() {
    if (world_->size() == 1) return;
    auto all = model_->parameters();
    std::vector<float> values;
    for (auto& p : all) {
      const auto v = p.value->to_vector();
      values.insert(values.end(), v.begin(), v.end());
    }
    world_->broadcast(values, 0, "the broadcast of rank 0's parameters");
    std::size_t at = 0;
    for (auto& p : all) {
      p.value->assign(std::span<const float>(values).subspan(at, p.value->size()));
      at += p.value->size();
    }
    // The counters (BN's num_batches_tracked), exactly: zeros elsewhere, so the sum is rank 0's.
    std::vector<double> counters;
    for (const auto& c : all.counters) counters.push_back(world_->rank() == 0 ? static_cast<double>(*c.value) : 0.0);
    if (counters.empty()) return;
    world_->sum(counters, "the broadcast of rank 0's counters");
    for (std::size_t i = 0; i < counters.size(); ++i) *all.counters[i].value = static_cast<std::int64_t>(counters[i]);
  }

  const GradientBuckets<Backend>& buckets() const { return buckets_; }
  Communicator& communicator() { return *world_; }

 private:
  Communicator* world_;
  ModelT* model_;
  Transport<Backend> transport_;
  GradientBuckets<Backend> buckets_;
};

}  // namespace ctnn::distributed
