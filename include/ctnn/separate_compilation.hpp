// The definitions of ctnn's non-template functions, for a program built with
// CTNN_SEPARATE_COMPILATION (see ctnn/core/config.hpp): include this from exactly one .cpp
// file of the program. CMake's ctnn::cpu_compiled target is such a file, built as a static
// library.
#pragma once
#ifndef CTNN_SEPARATE_COMPILATION
#error "ctnn/separate_compilation.hpp: define CTNN_SEPARATE_COMPILATION for this file and the whole program"
#endif

#include "ctnn/model.ipp"
#include "ctnn/io/safetensors.ipp"
#include "ctnn/io/matching.ipp"
#include "ctnn/io/checkpoint.ipp"
#include "ctnn/train/history.ipp"
#include "ctnn/train/plot.ipp"
#include "ctnn/train/progress.ipp"
#include "ctnn/train/metrics.ipp"
#include "ctnn/train/batch_log.ipp"
#include "ctnn/train/loop.ipp"
#if defined(CTNN_HAS_CPU_BACKEND) || __has_include(<oneapi/dnnl/dnnl.hpp>)
#include "ctnn/backend/cpu/tensor.ipp"
#include "ctnn/backend/cpu.ipp"
#include "ctnn/backend/cpu/sync_batch_norm.ipp"
#endif
