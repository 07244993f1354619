# torchvision's ResNet-18 with the CIFAR stem (a 3x3/1 convolution without bias, no max
# pooling), 10 classes, and the same throughput probe as ../shared/peers/seed_torch.py: batch
# BATCH (128) of random 32x32 images, Adam, 3 warm-up steps, then STEPS (20) timed ones.
# Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE T=2 python3 resnet_torch.py
import os, time
import torch, torch.nn as nn, torchvision


def cifar_resnet18(classes=10):
    m = torchvision.models.resnet18(num_classes=classes)
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


if __name__ == '__main__':
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get('T', '2')))
    B, steps = int(os.environ.get('BATCH', '128')), int(os.environ.get('STEPS', '20'))
    m = cifar_resnet18(); opt = torch.optim.Adam(m.parameters(), lr=1e-3); crit = nn.CrossEntropyLoss()
    x = torch.randn(B, 3, 32, 32); y = torch.randint(0, 10, (B,))
    m.train()
    for i in range(3):
        opt.zero_grad(); crit(m(x), y).backward(); opt.step()
    t = time.time()
    for i in range(steps):
        opt.zero_grad(); crit(m(x), y).backward(); opt.step()
    train = steps * B / (time.time() - t)
    m.eval()
    with torch.no_grad():
        for i in range(3): m(x)
        t = time.time()
        for i in range(steps): m(x)
        infer = steps * B / (time.time() - t)
    print(f'pytorch {torch.__version__} threads {torch.get_num_threads()}: train img/s {train:.0f}  infer img/s {infer:.0f}')
