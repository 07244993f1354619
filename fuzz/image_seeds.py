#!/usr/bin/env python3
# Writes a small seed corpus for ctnn_fuzz_image into DIR: PNG files in every mode and JPEG files
# (grey, colour, chroma subsampling, progressive, CMYK), written by PIL (Debian python3-pil), each
# behind the three bytes fuzz_image.cpp reads first (channels, output height, output width).
# Usage: image_seeds.py DIR
import io, os, sys
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def image(mode, w, h):
    bands = len(Image.new(mode, (1, 1)).getbands())
    return Image.frombytes(mode, (w, h), bytes((x * 29 + y * 7 + c * 50) & 0xFF
                                               for y in range(h) for x in range(w) for c in range(bands)))


def write(name, prefix, im, **save):
    buffer = io.BytesIO()
    im.save(buffer, **save)
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes(prefix) + buffer.getvalue())


for i, mode in enumerate(['L', 'LA', 'RGB', 'RGBA']):
    write(f'png_{mode}', [i, 7, 9], image(mode, 11, 6), format='PNG')
write('png_palette', [2, 3, 40], image('RGB', 13, 5).quantize(colors=8), format='PNG', transparency=2)
grey16 = Image.new('I;16', (6, 6))
grey16.putdata([i * 1800 for i in range(36)])
write('png_16bit', [0, 20, 20], grey16, format='PNG')
write('jpeg_grey', [1, 8, 8], image('L', 16, 9), format='JPEG', quality=80)
write('jpeg_444', [2, 30, 12], image('RGB', 17, 11), format='JPEG', quality=90, subsampling=0)
write('jpeg_420_progressive', [3, 5, 47], image('RGB', 24, 20), format='JPEG', quality=70, subsampling=2,
      progressive=True)
write('jpeg_cmyk', [2, 4, 4], image('CMYK', 8, 8), format='JPEG')
