// A torchvision-style basic block, shared by the cases that break residual networks (not a
// test case itself). Shortcut is a parameter so that cases can give the wrong one.
#pragma once
#include "ctnn/layers/branches.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"

template <int In, int Out, int Stride, class Shortcut = ctnn::ShortcutFor<In, Out, Stride>, int Bn2 = Out>
using Block = ctnn::Residual<
    ctnn::Sequential<ctnn::Named<"conv1", ctnn::ConvNoBias<In, Out, 3, Stride, 1>>, ctnn::Named<"bn1", ctnn::BN<Out>>,
                     ctnn::ReLU, ctnn::Named<"conv2", ctnn::ConvNoBias<Out, Out>>, ctnn::Named<"bn2", ctnn::BN<Bn2>>>,
    ctnn::Named<"downsample", Shortcut>, ctnn::ReLU>;
