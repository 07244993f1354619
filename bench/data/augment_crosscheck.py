# Compares ctnn's fused crop + flip + rotation with torchvision 0.14's functional transforms on
# tensors (pad, crop, hflip, rotate with BILINEAR and fill 0) for the cases ctnn_augment_crosscheck
# wrote. Usage: python3 augment_crosscheck.py FILE.bin   (Debian python3-torchvision)
import struct, sys
import numpy as np, torch
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack_from('<i', raw, 0)
off, cases = 4, []
for _ in range(n):
    i, j, flip, angle = struct.unpack_from('<iiid', raw, off)
    cases.append((i, j, flip, angle))
    off += 20
src = torch.from_numpy(np.frombuffer(raw, np.uint8, 3072, off).reshape(3, 32, 32).copy()).float() / 255
off += 3072
worst = 0.0
for k, (i, j, flip, angle) in enumerate(cases):
    ours = torch.from_numpy(np.frombuffer(raw, np.float32, 3072, off + k * 3072 * 4).reshape(3, 32, 32).copy())
    img = F.crop(F.pad(src, [4], fill=0), i, j, 32, 32)
    if flip:
        img = F.hflip(img)
    img = F.rotate(img, angle, interpolation=InterpolationMode.BILINEAR, fill=[0.0, 0.0, 0.0])
    d = (img - ours).abs().max().item()
    worst = max(worst, d)
    print(f'crop ({i},{j}) flip {flip} angle {angle:7.3f}: max |torchvision - ctnn| = {d:.2e}')
print(f'worst {worst:.2e}')
# Both sample in float32; near a border a position a few 1e-7 px apart moves weight between an
# inside and an outside tap, so allow 1e-3 (a quarter of a grey level).
sys.exit(0 if worst < 1e-3 else 1)
