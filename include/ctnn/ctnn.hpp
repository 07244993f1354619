// The umbrella header: every layer, Sequential, Model, losses and optimizers, plus the CPU
// backend when oneDNN is available (link ctnn::cpu).
#pragma once
#include "ctnn/core/shape.hpp"
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
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
#if defined(CTNN_HAS_CPU_BACKEND) || __has_include(<oneapi/dnnl/dnnl.hpp>)
#include "ctnn/backend/cpu.hpp"
#endif
