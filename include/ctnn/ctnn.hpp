// The umbrella header: every layer and combinator, Sequential, Model, losses and optimizers
// (the model zoo is include/ctnn/models/), plus a backend:
// the CUDA one in a translation unit compiled by nvcc (link ctnn::cuda), the oneDNN CPU one
// elsewhere when oneDNN is installed (link ctnn::cpu). nvcc 13 stops with an internal error
// on oneDNN's dnnl.hpp in C++20 mode, so a program that uses both keeps its CPU code in a
// .cpp and its CUDA code in a .cu file.
#pragma once
#include "ctnn/core/shape.hpp"
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/branches.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/loss/cross_entropy.hpp"
#include "ctnn/model.hpp"
#include "ctnn/optim/adam.hpp"
#include "ctnn/optim/sgd.hpp"
#include "ctnn/sequential.hpp"
#if defined(__CUDACC__)
#include "ctnn/backend/cuda.hpp"
#elif defined(CTNN_HAS_CPU_BACKEND) || __has_include(<oneapi/dnnl/dnnl.hpp>)
#include "ctnn/backend/cpu.hpp"
#endif
