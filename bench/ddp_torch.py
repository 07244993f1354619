# PyTorch's data-parallel peer of ddp_throughput.cpp: the seed network (../shared/peers/seed_torch.py),
# Adam, random data, the total batch (BATCH, 128) split over R processes (R, 1) of T threads (T, 1)
# each, DistributedDataParallel over gloo (R > 1; bucket_cap_mb BUCKET_MB, 25), 3 warm-up steps,
# then STEPS (20) timed steps between two barriers. Prints one line:
#   pytorch ddp ranks R threads T: train img/s X
# Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE R=2 T=1 /usr/bin/python3 ddp_torch.py
import os, sys, time
import torch, torch.distributed as dist, torch.multiprocessing as mp, torch.nn as nn

sys.path.insert(0, os.environ.get('PEERS', os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'peers')))
from seed_torch import CNN


def rank_main(rank, ranks, threads, total, steps, bucket_mb, port):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = CNN()
    if ranks > 1:
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=ranks)
        m = nn.parallel.DistributedDataParallel(m, bucket_cap_mb=bucket_mb)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3); crit = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(1 + rank)
    B = total // ranks
    x = torch.randn(B, 3, 32, 32, generator=g); y = torch.randint(0, 10, (B,), generator=g)
    m.train()

    def step():
        opt.zero_grad(); crit(m(x), y).backward(); opt.step()
    for _ in range(3):
        step()
    if ranks > 1:
        dist.barrier()
    t = time.time()
    for _ in range(steps):
        step()
    if ranks > 1:
        dist.barrier()
    seconds = time.time() - t
    if rank == 0:
        print(f'pytorch ddp ranks {ranks} threads {threads}: train img/s {steps * total / seconds:.0f}', flush=True)
    if ranks > 1:
        dist.destroy_process_group()


if __name__ == '__main__':
    ranks, threads = int(os.environ.get('R', '1')), int(os.environ.get('T', '1'))
    total, steps = int(os.environ.get('BATCH', '128')), int(os.environ.get('STEPS', '20'))
    bucket_mb = float(os.environ.get('BUCKET_MB', '25'))
    args = (ranks, threads, total, steps, bucket_mb, 29500 + os.getpid() % 1000)
    if ranks == 1:
        rank_main(0, *args)
    else:
        mp.spawn(rank_main, args=args, nprocs=ranks)
