// OpenMP's wait policy. oneDNN (and ctnn's own loops) run on OpenMP, whose idle threads
// spin-wait by default. On small shared machines that spinning takes the cores that data
// loading threads and other processes need (PyTorch, on the same runtime, trains 6x slower
// here without OMP_WAIT_POLICY=PASSIVE). libgomp reads the policy from the environment once,
// before main() runs, so a program can only change it by starting itself again.
#pragma once
#include <cstdlib>  // std::getenv, setenv

#include <omp.h>     // omp_get_max_threads, omp_set_num_threads
#include <unistd.h>  // execv

namespace ctnn::cpu {

// Call first thing in main(): when OMP_WAIT_POLICY is unset, sets it to PASSIVE and restarts
// the program with the same arguments (Linux: /proc/self/exe). Does nothing when the user
// has set the policy, or when the restart isn't possible (the program then runs as it is).
inline void use_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only if the restart failed
}

// Runs the oneDNN primitives created and executed in its scope on at most `threads` threads.
// oneDNN fixes a primitive's thread count when it is created and reads OpenMP's setting then.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads) : previous_(omp_get_max_threads()) {
    if (threads < previous_) omp_set_num_threads(threads);
  }
  ~ThreadLimit() { omp_set_num_threads(previous_); }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int previous_;
};

}  // namespace ctnn::cpu
