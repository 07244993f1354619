#!/usr/bin/env python3
"""Compares ctnn's image decoding and resizing with PIL's, on files PIL writes.

usage: image_crosscheck.py CTNN_IMAGE_TOOL

PIL is the independent side: it encodes the files (PNG in every mode, JPEG with several
qualities, subsamplings and progressive), decodes them with .convert("RGB") / .convert("L") as
torchvision's ImageFolder does, and resizes with Image.resize(BILINEAR) as torchvision's Resize
does on PIL images. ctnn_image_tool decodes (and resizes, and crops) the same files. Each case
prints the largest difference; they must all be 0, except for 16-bit PNGs, where PIL keeps
nothing sensible (it clips 16-bit grey to 255) and ctnn is checked against round(v / 257)
instead. Exits 77 (skipped) without PIL.
"""
import os
import random
import subprocess
import sys
import tempfile

try:
    from PIL import Image
except ImportError:
    print("PIL is not installed (Debian: python3-pil); skipped")
    sys.exit(77)

tool = sys.argv[1]
rng = random.Random(15)
failures = []


def noise_and_gradient(mode, w, h):
    """Random pixels over a gradient: busy enough that any layout mistake shows."""
    bands = len(Image.new(mode, (1, 1)).getbands())
    data = bytearray()
    for y in range(h):
        for x in range(w):
            for c in range(bands):
                data.append((x * 255 // max(1, w - 1) + y * 3 + c * 60 + rng.randrange(64)) & 0xFF)
    return Image.frombytes(mode, (w, h), bytes(data))


def run_tool(path, channels, *sizes):
    out = path + ".raw"
    result = subprocess.run([tool, path, out, str(channels), *map(str, sizes)], capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr.strip()
    w, h, c = map(int, result.stdout.split())
    with open(out, "rb") as f:
        return (w, h, c, f.read()), None


def pil_bytes(im):
    return (im.size[0], im.size[1], len(im.getbands()), im.tobytes())


def compare(name, ctnn, expected):
    if ctnn is None:
        failures.append(f"{name}: ctnn failed")
        print(f"{name}: ctnn failed")
        return
    if ctnn[:3] != expected[:3]:
        failures.append(f"{name}: shape {ctnn[:3]} vs {expected[:3]}")
        print(f"{name}: shape {ctnn[:3]} (ctnn) vs {expected[:3]} (PIL)")
        return
    diff = max((abs(a - b) for a, b in zip(ctnn[3], expected[3])), default=0)
    print(f"{name}: {ctnn[0]}x{ctnn[1]}x{ctnn[2]}, max difference {diff}")
    if diff != 0:
        failures.append(f"{name}: max difference {diff}")


with tempfile.TemporaryDirectory() as tmp:
    files = []  # (name, path): decoded below as RGB and as grey

    # PNG in every mode PIL writes, odd sizes.
    for mode in ["L", "LA", "RGB", "RGBA"]:
        path = os.path.join(tmp, f"{mode}.png")
        noise_and_gradient(mode, 37, 23).save(path)
        files.append((f"PNG {mode}", path))
    palette = noise_and_gradient("RGB", 37, 23).quantize(colors=50)
    path = os.path.join(tmp, "P.png")
    palette.save(path)
    files.append(("PNG palette", path))
    path = os.path.join(tmp, "P_transparent.png")
    palette.save(path, transparency=3)
    files.append(("PNG palette with transparency", path))
    path = os.path.join(tmp, "L_transparent.png")
    noise_and_gradient("L", 37, 23).save(path, transparency=17)
    files.append(("PNG grey with transparency", path))
    path = os.path.join(tmp, "RGB_best.png")
    noise_and_gradient("RGB", 64, 48).save(path, compress_level=9, optimize=True)
    files.append(("PNG RGB optimized", path))

    # JPEG: grey and colour, qualities, chroma subsampling 4:4:4 (0), 4:2:2 (1), 4:2:0 (2),
    # progressive and optimized Huffman tables, sizes that aren't multiples of 8 or 16.
    for mode, quality, subsampling, progressive, (w, h) in [
        ("L", 90, 0, False, (37, 29)),
        ("RGB", 95, 0, False, (37, 29)),
        ("RGB", 75, 2, False, (37, 29)),
        ("RGB", 85, 1, False, (50, 17)),
        ("RGB", 90, 2, True, (64, 64)),
        ("L", 60, 0, True, (33, 40)),
        ("RGB", 100, 0, False, (32, 32)),
    ]:
        path = os.path.join(tmp, f"{mode}_{quality}_{subsampling}_{progressive}_{w}x{h}.jpg")
        noise_and_gradient(mode, w, h).save(path, quality=quality, subsampling=subsampling,
                                            progressive=progressive, optimize=progressive)
        files.append((f"JPEG {mode} q{quality} subsampling {subsampling}{' progressive' if progressive else ''}", path))

    for name, path in files:
        pil = Image.open(path)
        compare(f"{name} as RGB", run_tool(path, 3)[0], pil_bytes(pil.convert("RGB")))
        compare(f"{name} as grey", run_tool(path, 1)[0], pil_bytes(pil.convert("L")))

    # 16-bit PNGs: ctnn scales to 8 bits with rounding, round(v / 257).
    for mode, bands in [("I;16", 1)]:
        w, h = 19, 7
        im = Image.new(mode, (w, h))
        values = [rng.randrange(65536) for _ in range(w * h)]
        im.putdata(values)
        path = os.path.join(tmp, "grey16.png")
        im.save(path)
        expected = bytes(min(255, (v * 2 + 257) // 514) for v in values)  # round(v / 257), halves up
        compare("PNG 16-bit grey, against round(v / 257)", run_tool(path, 0)[0], (w, h, bands, expected))

    # CMYK JPEGs are refused, with a message naming the file.
    path = os.path.join(tmp, "cmyk.jpg")
    noise_and_gradient("CMYK", 16, 16).save(path)
    result, error = run_tool(path, 3)
    print(f"JPEG CMYK: {error}")
    if result is not None or path not in (error or "") or "CMYK" not in (error or ""):
        failures.append("JPEG CMYK was not refused with a message naming the file")

    # Resize: PIL's Image.resize(BILINEAR), up, down, both, by non-integer factors.
    for mode in ["RGB", "L"]:
        path = os.path.join(tmp, f"resize_{mode}.png")
        source = noise_and_gradient(mode, 61, 45)
        source.save(path)
        for w, h in [(32, 32), (17, 45), (61, 12), (150, 99), (7, 200), (1, 1), (122, 90)]:
            compare(f"resize {mode} 61x45 -> {w}x{h}", run_tool(path, len(source.getbands()), h, w)[0],
                    pil_bytes(source.resize((w, h), Image.BILINEAR)))

    # torchvision's eval transform on PIL images: Resize(32) (shorter side) then CenterCrop(32),
    # the crop offset computed as torchvision does, with Python's round.
    for w, h in [(61, 45), (45, 61), (40, 32), (33, 97)]:
        path = os.path.join(tmp, f"eval_{w}x{h}.png")
        source = noise_and_gradient("RGB", w, h)
        source.save(path)
        short, long = min(w, h), max(w, h)
        nw, nh = (32, int(32 * long / short)) if w <= h else (int(32 * long / short), 32)
        resized = source.resize((nw, nh), Image.BILINEAR)
        top, left = int(round((nh - 32) / 2.0)), int(round((nw - 32) / 2.0))
        expected = resized.crop((left, top, left + 32, top + 32))
        compare(f"Resize(32) + CenterCrop(32) of {w}x{h}", run_tool(path, 3, nh, nw, 32, 32)[0], pil_bytes(expected))

if failures:
    print(f"{len(failures)} mismatches:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ctnn and PIL agree on every case")
