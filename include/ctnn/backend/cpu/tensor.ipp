// Definitions for tensor.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include "ctnn/backend/cpu/runtime.hpp"  // TensorMemory
#include "ctnn/backend/cpu/tensor.hpp"

namespace ctnn::cpu {

CTNN_INLINE TensorMemory* create(TensorMemory*) { return new TensorMemory; }
CTNN_INLINE void destroy(TensorMemory* p) { delete p; }

}  // namespace ctnn::cpu
