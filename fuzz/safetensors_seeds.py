#!/usr/bin/env python3
# Writes a small seed corpus for ctnn_fuzz_safetensors into DIR: valid safetensors files made
# here from the specification (F32 with metadata; F16, BF16, F64 and I64 tensors; no tensors).
# Usage: safetensors_seeds.py DIR
import json, os, struct, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write(name, tensors, meta=None):
    header, data = ({'__metadata__': meta} if meta else {}), b''
    for key, (dtype, shape, raw) in tensors.items():
        header[key] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(os.path.join(out, name), 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + data)


write('two_f32', {'0.weight': ('F32', [2, 2], struct.pack('<4f', 1, 2, 3, 4)),
                  '0.bias': ('F32', [2], struct.pack('<2f', -1, 0.5))}, {'format': 'pt', 'ctnn.epoch': '3'})
write('mixed', {'h': ('F16', [3], struct.pack('<3H', 0x3c00, 0xc000, 0x3800)),
                'b': ('BF16', [1], struct.pack('<H', 0x3f80)), 'd': ('F64', [], struct.pack('<d', 1.0)),
                'i': ('I64', [1], struct.pack('<q', 7))})
write('empty', {})
