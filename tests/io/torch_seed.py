#!/usr/bin/python3
"""The PyTorch half of test_io_torch_seed: the seed network's weights both ways between ctnn
and PyTorch (bench/seed_torch_gpu.py's CNN, the seed network as PyTorch code).

    torch_seed.py DIR

1. Reads DIR/ctnn_seed.safetensors (ctnn's io::save_weights, ctnn's names) and
   DIR/ctnn_seed_check.safetensors: "input", ctnn's eval-mode "logits", and metadata
   "rename" (a JSON list of [PyTorch prefix, ctnn prefix] pairs, the test's only name map) and
   "batches" (the num_batches_tracked ctnn counted). Loads the weights into the CNN with
   load_state_dict(strict=True) under PyTorch's names, checks that every num_batches_tracked
   is an int64 scalar equal to "batches", and that PyTorch's eval-mode logits match ctnn's.
2. Writes DIR/torch_seed.safetensors (the state_dict of another CNN, BN statistics from five
   train-mode batches, biases shifted, PyTorch's names) and DIR/torch_seed_check.safetensors (an input and
   its eval-mode logits), which ctnn then loads with the rename rules and checks.
Exits 1 when a check fails."""
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "bench"))
sys.path.insert(0, os.path.join(here, "..", "..", "scripts"))
from seed_torch_gpu import CNN  # noqa: E402
from safetensors_torch import load, save  # noqa: E402

# Relative to the largest |logit|. Two libraries' fp32 kernels through nine layers: measured
# 4e-7 of 0.74 (5e-7 relative); 1e-5 leaves room for other CPUs' kernels, and is still ten
# times below what the least of the tensors moves the logits by when it doesn't arrive
# (bn1.running_mean reset to 0: 1.7e-4 of 0.74).
TOLERANCE = 1e-5


def torch_name(ctnn_name, rename):
    for torch_prefix, ctnn_prefix in rename:
        if ctnn_name.startswith(ctnn_prefix):
            return torch_prefix + ctnn_name[len(ctnn_prefix):]
    return ctnn_name


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    ok = True

    tensors, _ = load(os.path.join(out, "ctnn_seed.safetensors"))
    check, meta = load(os.path.join(out, "ctnn_seed_check.safetensors"))
    rename = json.loads(meta["rename"])
    state = {torch_name(k, rename): v for k, v in tensors.items()}
    model = CNN()
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    counters = {k: v for k, v in state.items() if k.endswith("num_batches_tracked")}
    if len(counters) != 6 or any(v.dtype != torch.int64 or v.shape != () or v.item() != int(meta["batches"])
                                 for v in counters.values()):
        print(f"torch_seed.py: num_batches_tracked should be six int64 scalars of {meta['batches']}: {counters}")
        ok = False
    model.eval()
    with torch.no_grad():
        logits = model(check["input"])
    diff = (logits - check["logits"]).abs().max().item()
    limit = TOLERANCE * logits.abs().max().item()
    print(f"torch_seed.py: ctnn's file loaded strictly into PyTorch {torch.__version__} ({len(state)} tensors); "
          f"eval logits differ by at most {diff:.3g} (limit {limit:.3g}: {TOLERANCE} of the largest |logit|)")
    ok = ok and diff <= limit

    other = CNN()
    other.train()
    with torch.no_grad():
        for _ in range(5):
            other(torch.randn(16, 3, 32, 32))
        for p in other.parameters():  # biases, BN's scales and shifts away from 0 and 1
            if p.dim() == 1:
                p.add_(torch.rand_like(p) - 0.5)
    other.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        y = other(x)
    save(os.path.join(out, "torch_seed.safetensors"), other.state_dict(), {"format": "pt"})
    save(os.path.join(out, "torch_seed_check.safetensors"), {"input": x, "logits": y})
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
