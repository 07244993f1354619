// The compile-time facts of each op, handed to a backend as plain values. Layers build these
// from their template arguments and input shape; backends build their primitives from them.
#pragma once

namespace ctnn {

struct ConvSpec {
  int in_channels, out_channels, kernel, stride, pad, groups;
  int in_height, in_width, out_height, out_width;
  bool bias = true;  // false: no bias; the bias buffer and its gradient are empty and unused
};

struct BatchNormSpec {
  int channels;
  float eps;       // added to the variance
  float momentum;  // running = (1 - momentum) * running + momentum * batch statistic
  bool fuse_relu = false;  // a ReLU follows: apply it in the same pass (see Sequential)
};

enum class PoolKind { max, average };

struct PoolSpec {
  PoolKind kind;
  int channels, kernel_h, kernel_w, stride_h, stride_w;
  int in_height, in_width, out_height, out_width;
  // Zeros (average) or -infinity (max) added on each side. Average pooling divides by the
  // whole window, padding included, as PyTorch's AvgPool2d (count_include_pad=True) does.
  int pad_h = 0, pad_w = 0;
};

struct LinearSpec {
  int in_features, out_features;
};

// What a loss reports for one batch.
struct LossResult {
  float loss;   // mean over the batch
  int correct;  // samples whose highest logit is their label
};

}  // namespace ctnn

namespace ctnn {

// One Adam/AdamW update of one parameter, with PyTorch's rules.
struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW: decay the weights directly instead of the gradient
  float bias_correction1, bias_correction2;  // 1 - beta^t
};

// One SGD update of one parameter, with PyTorch's rules (momentum buffer starts as the
// first gradient; Nesterov uses g + momentum * buffer).
struct SgdStep {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;
};

}  // namespace ctnn
