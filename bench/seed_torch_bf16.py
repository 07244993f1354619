#!/usr/bin/python3
# The seed network's PyTorch probe (../shared/peers/seed_torch.py: same network, batch, Adam,
# warm-up and timed steps) under CPU autocast to bfloat16, the peer of ctnn's opt-in bf16
# convolutions (BF16=1 for bench/seed_throughput):
#   BF16=1 PEER=bench/seed_torch_bf16.py ONE_THREAD=0 DLIB=0 DATA=0 COMPILE=0 bench/compare_seed.sh
# autocast runs convolutions and Linear layers in bf16 (oneDNN's bf16 kernels) with fp32
# parameters, and keeps batch norm and the loss in fp32. Prints one line, as seed_torch.py does.
import importlib.util, os, sys, time
import torch, torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("seed_torch", os.path.join(here, "..", "..", "shared", "peers", "seed_torch.py"))
seed_torch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seed_torch)

torch.manual_seed(0)
torch.set_num_threads(int(os.environ.get("T", "2")))
B, steps = 128, int(os.environ.get("STEPS", "20"))
m = seed_torch.CNN(); opt = torch.optim.Adam(m.parameters(), lr=1e-3); crit = nn.CrossEntropyLoss()
x = torch.randn(B, 3, 32, 32); y = torch.randint(0, 10, (B,))


def step():
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = crit(m(x), y)
    loss.backward()
    opt.step()


m.train()
for i in range(3): step()
t = time.time()
for i in range(steps): step()
train = steps * B / (time.time() - t)
m.eval()
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
    for i in range(3): m(x)
    t = time.time()
    for i in range(steps): m(x)
    infer = steps * B / (time.time() - t)
print(f"pytorch {torch.__version__} bf16 autocast threads {torch.get_num_threads()}: train img/s {train:.0f}  infer img/s {infer:.0f}")
