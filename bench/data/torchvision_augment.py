# torchvision's version of the seed training transform, for side-by-side runs with
# ctnn_augment_throughput: the first 5000 images of data_batch_1.bin as PIL images,
# RandomCrop(32, 4), RandomHorizontalFlip, RandomRotation(15), ToTensor, Normalize, then
# torch.stack into one batch. Measured like ../shared/peers/torchvision_augment.py.
#   python3 torchvision_augment.py CIFAR10_DIR [nearest|bilinear] [PROCESSES]
# nearest is the seed's own transform (RandomRotation's default); bilinear matches ctnn's
# rotation. PROCESSES > 1 splits the images over worker processes, as DataLoader workers do.
import sys, time
from multiprocessing import Barrier, Pool
import numpy as np, torch, torchvision.transforms as T
from PIL import Image

interp = sys.argv[2] if len(sys.argv) > 2 else 'nearest'
procs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
mode = {'nearest': T.InterpolationMode.NEAREST, 'bilinear': T.InterpolationMode.BILINEAR}[interp]
tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.RandomRotation(15, interpolation=mode),
                T.ToTensor(), T.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))])


def load():
    raw = np.fromfile(f'{sys.argv[1]}/data_batch_1.bin', dtype=np.uint8).reshape(-1, 3073)[:5000]
    return [Image.fromarray(r[1:].reshape(3, 32, 32).transpose(1, 2, 0)) for r in raw]


def work(part, barrier=None):
    torch.set_num_threads(1)
    imgs = load()[part::procs]
    for im in imgs[:200]:
        tf(im)
    if barrier is not None:
        barrier.wait()  # all workers start timing together
    t = time.time()
    torch.stack([tf(im) for im in imgs])
    return len(imgs), t, time.time()


def init(b):
    global shared_barrier
    shared_barrier = b


def pooled(part):
    return work(part, shared_barrier)


if __name__ == '__main__':
    if procs == 1:
        n, t0, t1 = work(0)
        rate = n / (t1 - t0)
    else:
        barrier = Barrier(procs)
        with Pool(procs, initializer=init, initargs=(barrier,)) as pool:
            parts = pool.map(pooled, range(procs), chunksize=1)
        # Wall time from the common start to the last worker's end.
        rate = sum(n for n, _, _ in parts) / (max(e for _, _, e in parts) - min(s for _, s, _ in parts))
    print(f'torchvision seed transform ({interp}) + stack: threads {procs}: {rate:.0f} img/s '
          f'({rate / procs:.0f} img/s per thread)')
