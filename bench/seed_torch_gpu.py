#!/usr/bin/python3
"""The seed network in PyTorch on a CUDA device: the peer of seed_throughput_cuda (ctnn's CUDA
backend). Same measurement: random data copied from host memory every step, Adam, 3 warm-up
steps, then STEPS timed steps, then eval-mode inference.
  seed_torch_gpu.py MODE      MODE: fp32 (eager, NCHW, fp32; cuDNN may use TF32 for
                              convolutions, PyTorch's default, as ctnn's CUDA backend does)
                              or amp (channels_last memory format + autocast fp16 + GradScaler)
  env: BATCH=128, STEPS=50
Prints "pytorch VERSION cuda DEVICE MODE batch B: train img/s X  infer img/s Y", or exits with
status 77 and a "no GPU" message where torch sees no CUDA device."""
import os, sys, time
import torch, torch.nn as nn, torch.nn.functional as F


class CNN(nn.Module):  # the seed network, as ../shared/peers/seed_torch.py
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1); self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1); self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1); self.bn3 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1); self.bn4 = nn.BatchNorm2d(64)
        self.conv5 = nn.Conv2d(64, 128, 3, padding=1); self.bn5 = nn.BatchNorm2d(128)
        self.conv6 = nn.Conv2d(128, 128, 3, padding=1); self.bn6 = nn.BatchNorm2d(128)
        self.pool = nn.MaxPool2d(2, 2); self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(2048, 512); self.drop4 = nn.Dropout(0.5); self.fc2 = nn.Linear(512, 10)

    def forward(self, x):
        x = self.drop(self.pool(F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))))
        x = self.drop(self.pool(F.relu(self.bn4(self.conv4(F.relu(self.bn3(self.conv3(x))))))))
        x = self.drop(self.pool(F.relu(self.bn6(self.conv6(F.relu(self.bn5(self.conv5(x))))))))
        x = x.reshape(x.shape[0], -1)
        return self.fc2(self.drop4(F.relu(self.fc1(x))))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "fp32"
    if mode not in ("fp32", "amp"):
        sys.exit("usage: seed_torch_gpu.py fp32|amp")
    if not torch.cuda.is_available():
        print(f"pytorch {torch.__version__} cuda: no GPU (torch.cuda.is_available() is False): nothing measured")
        sys.exit(77)
    torch.manual_seed(0)
    dev = torch.device("cuda")
    B, steps = int(os.environ.get("BATCH", "128")), int(os.environ.get("STEPS", "50"))
    amp = mode == "amp"
    fmt = torch.channels_last if amp else torch.contiguous_format
    m = CNN().to(dev, memory_format=fmt)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3); crit = nn.CrossEntropyLoss()
    scaler = torch.cuda.amp.GradScaler(enabled=amp)
    x_host = torch.randn(B, 3, 32, 32).pin_memory(); y_host = torch.randint(0, 10, (B,)).pin_memory()

    def batch():
        return (x_host.to(dev, non_blocking=True).contiguous(memory_format=fmt), y_host.to(dev, non_blocking=True))

    def step():
        x, y = batch()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = crit(m(x), y)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update()

    m.train()
    for _ in range(3): step()
    torch.cuda.synchronize(); t = time.time()
    for _ in range(steps): step()
    torch.cuda.synchronize(); train = steps * B / (time.time() - t)
    m.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
        for _ in range(3): m(batch()[0])
        torch.cuda.synchronize(); t = time.time()
        for _ in range(steps): m(batch()[0])
        torch.cuda.synchronize(); infer = steps * B / (time.time() - t)
    print(f"pytorch {torch.__version__} cuda {torch.cuda.get_device_name()} {mode} batch {B}: "
          f"train img/s {train:.0f}  infer img/s {infer:.0f}")
