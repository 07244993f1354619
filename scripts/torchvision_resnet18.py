#!/usr/bin/python3
"""Writes a random-initialised torchvision ResNet-18 and what it computes, for checking that
another implementation (ctnn's models::ResNet18) gives the same results from the same weights.

    scripts/torchvision_resnet18.py OUT_DIR [--num-classes 1000] [--seed 0] [--batch 2] [--size 64]

OUT_DIR/resnet18.safetensors: the model's state_dict under torchvision's names ("conv1.weight",
  "layer1.0.bn1.running_mean", "layer2.0.downsample.0.weight", "fc.bias", ...), float tensors
  as F32 and every BN's num_batches_tracked as an I64 scalar, as torch.save would hold them.
OUT_DIR/resnet18_check.safetensors: "input" (batch x 3 x size x size), "logits" (eval mode),
  "logit_weights" R (batch x classes) and "input_grad", the gradient of sum(logits * R) with
  respect to the input, in eval mode; and "train_logits" and "train_input_grad", the same in
  train mode (BN normalising with the batch's statistics) from the saved weights.

torchvision initialises BN to weight 1, bias 0, running mean 0 and variance 1, which an
implementation that ignored them would also match. So before the outputs are computed, every
BN's scale and shift are drawn at random and its running statistics are re-estimated from a
few batches of random images (a cumulative average, momentum=None), which leaves them far from
0 and 1 and keeps the eval-mode activations at a sane scale through all twenty layers. Needs
Debian's python3-torchvision (and python3-torch)."""
import argparse
import copy
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import save  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=64, help="image height and width (at least 32)")
    args = parser.parse_args()
    if args.size < 32:
        parser.error("--size: ResNet-18 halves the image five times, so it needs at least 32")

    torch.manual_seed(args.seed)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model = torchvision.models.resnet18(num_classes=args.num_classes)

    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            bn.momentum = None  # running statistics: the plain mean of the batches below
        model.train()
        for _ in range(3):
            model(torch.randn(8, 3, args.size, args.size) * 1.5 + 0.2)
        for bn in bns:
            bn.momentum = 0.1
    model.eval()

    x = torch.randn(args.batch, 3, args.size, args.size, requires_grad=True)
    logits = model(x)
    r = torch.randn_like(logits)
    (logits * r).sum().backward()
    # The same in train mode (BN on the batch's statistics), on a copy: its forward moves the
    # running statistics, which the saved state_dict keeps as they were.
    in_training = copy.deepcopy(model).train()
    x_train = x.detach().clone().requires_grad_(True)
    train_logits = in_training(x_train)
    (train_logits * r).sum().backward()

    os.makedirs(args.out_dir, exist_ok=True)
    meta = {"format": "pt", "torch": torch.__version__, "torchvision": torchvision.__version__,
            "seed": str(args.seed), "num_classes": str(args.num_classes)}
    save(os.path.join(args.out_dir, "resnet18.safetensors"), model.state_dict(), meta)
    save(os.path.join(args.out_dir, "resnet18_check.safetensors"),
         {"input": x.detach(), "logits": logits.detach(), "logit_weights": r, "input_grad": x.grad,
          "train_logits": train_logits.detach(), "train_input_grad": x_train.grad}, meta)
    print(f"torchvision {torchvision.__version__} resnet18 ({args.num_classes} classes, seed {args.seed}): "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; input {list(x.shape)}, "
          f"logits in [{logits.min().item():.3f}, {logits.max().item():.3f}], written to {args.out_dir}")


if __name__ == "__main__":
    main()
