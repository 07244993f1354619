// StepGraph: a train step's device work as a CUDA graph, replayed with one launch instead of
// a hundred-odd cuDNN, cuBLAS and kernel calls from the host. Experimental and not yet run on a
// GPU (docs/backends.md says what is unverified).
//
//   cuda::StepGraph graph;
//   ...each step:
//   graph.run(batch, {as_bytes(images), as_bytes(labels)}, [&] {
//     loss.queue(model.forward(images, batch), labels);
//     model.backward(loss.gradient());
//   });
//   optimizer.step();  // outside the graph: its learning rate and bias corrections change
//   ...take each loss a step late, as the trainer does (loss.lag)
//
// For each key (the batch size, say), the first `warmup` calls run step() as it is, so that
// algorithm searches and allocations happen; the next two capture it (into two graphs that
// alternate, so the host can fill one's inputs while the other runs); later calls don't call
// step() at all but replay a graph. While a step is captured, the host data its device work
// reads (from_host's values, the loss's labels, each dropout's seed) goes through pinned cells
// at fixed addresses (cuda::StepCapture); before a replay, `inputs` (in the order the step
// uploads them) are copied into the input cells and the dropout seeds are drawn from the model's
// generator, in the same order as an eager step would draw them. So a step must be a function of
// its inputs and the generator alone, the same for a key every time, and the model and loss must
// not move while a graph of them exists. Any device allocation anywhere (a larger batch, say)
// may move a tensor the graphs read, so each graph is captured again after one.
#pragma once
#include <array>
#include <cstddef>
#include <cstring>  // std::memcpy
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "ctnn/backend/cuda/runtime.cuh"  // runtime(), StepCapture, Event, device_allocations
#include "ctnn/core/error.hpp"            // Error

namespace ctnn::cuda {

class StepGraph {
 public:
  explicit StepGraph(int warmup = 2) : warmup_(warmup) {
    if (warmup < 1) throw Error("cuda::StepGraph: at least one eager step must come before the capture");
  }
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;
  ~StepGraph() {
    for (auto& e : entries_)
      for (auto& g : e.graphs) try {
          release(g);
        } catch (...) {  // a failed wait for the device: nothing more to be done here
        }
  }

  template <class Step>
  void run(long key, std::initializer_list<std::span<const std::byte>> inputs, Step&& step) {
    Entry& e = entry(key);
    if (e.eager_steps < warmup_) {
      step();
      ++e.eager_steps;
      return;
    }
    auto& graph = e.graphs[e.next];
    e.next = 1 - e.next;
    if (!graph || graph->allocations != device_allocations()) {
      release(graph);
      graph = capture(step);
      launch(*graph);
      return;
    }
    graph->done.wait();  // its last launch has read its cells
    auto input = inputs.begin();
    for (auto& cell : graph->capture.cells) {
      if (cell.refill) {
        cell.refill(cell.memory.get());
        continue;
      }
      if (input == inputs.end() || input->size() != cell.bytes)
        throw Error(fmt::format("cuda::StepGraph: the replay of key {} got {} inputs, of other sizes than the "
                                "captured step uploaded",
                                key, inputs.size()));
      std::memcpy(cell.memory.get(), input->data(), cell.bytes);
      ++input;
    }
    if (input != inputs.end())
      throw Error(fmt::format("cuda::StepGraph: the replay of key {} got {} inputs; the captured step uploaded fewer",
                              key, inputs.size()));
    launch(*graph);
    ++replays_;
  }

  long captures() const { return captures_; }
  long replays() const { return replays_; }

 private:
  struct Graph {
    StepCapture capture;
    cudaGraphExec_t exec = nullptr;
    Event done;
    long allocations = 0;
  };
  struct Entry {
    long key;
    int eager_steps = 0, next = 0;
    std::array<std::unique_ptr<Graph>, 2> graphs;
  };

  Entry& entry(long key) {
    for (auto& e : entries_)
      if (e.key == key) return e;
    return entries_.emplace_back(Entry{key});
  }

  template <class Step>
  std::unique_ptr<Graph> capture(Step& step) {
    auto& rt = runtime();
    auto graph = std::make_unique<Graph>();
    // Relaxed: the cells are pinned memory allocated while the step is captured.
    CTNN_CUDA_CHECK(cudaStreamBeginCapture(rt.stream, cudaStreamCaptureModeRelaxed));
    rt.capture = &graph->capture;
    cudaGraph_t captured = nullptr;
    try {
      step();
    } catch (...) {
      rt.capture = nullptr;
      cudaStreamEndCapture(rt.stream, &captured);
      if (captured) cudaGraphDestroy(captured);
      throw;
    }
    rt.capture = nullptr;
    CTNN_CUDA_CHECK(cudaStreamEndCapture(rt.stream, &captured));
    const cudaError_t status = cudaGraphInstantiate(&graph->exec, captured, 0);
    cudaGraphDestroy(captured);
    CTNN_CUDA_CHECK(status);
    graph->allocations = device_allocations();
    ++captures_;
    return graph;
  }

  // The graph, then what must follow it on the stream (the loss's copies back to the host).
  static void launch(Graph& graph) {
    auto& rt = runtime();
    CTNN_CUDA_CHECK(cudaGraphLaunch(graph.exec, rt.stream));
    for (auto& after : graph.capture.after_launch) after();
    graph.done.record(rt.stream);
  }

  static void release(std::unique_ptr<Graph>& graph) {
    if (!graph) return;
    graph->done.wait();
    if (graph->exec) cudaGraphExecDestroy(graph->exec);
    graph.reset();
  }

  int warmup_;
  std::vector<Entry> entries_;
  long captures_ = 0, replays_ = 0;
};

}  // namespace ctnn::cuda
