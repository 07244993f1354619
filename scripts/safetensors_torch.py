"""safetensors files to and from dicts of PyTorch tensors, written from the format's
specification (https://github.com/huggingface/safetensors) for machines without the
safetensors package (Debian 12 has none): 8 bytes of little-endian header length, a JSON
header {name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}, then the data,
little-endian and row-major.

    from safetensors_torch import save, load
    save("model.safetensors", model.state_dict(), {"format": "pt"})
    tensors, metadata = load("model.safetensors")
"""
import json
import struct

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


def save(path, tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, tensor in tensors.items():
        if tensor.dtype not in NAMES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {tensor.dtype}, which this writer doesn't store")
        # numpy's bytes of a contiguous CPU tensor: row-major, native (little-endian on x86 and ARM)
        t = tensor.detach().cpu().contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def load(path):
    """Returns ({name: tensor}, metadata) with the tensors in the header's order."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    buffer = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        raw = bytearray(buffer[begin:end])  # writable, as torch.frombuffer wants
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    return tensors, metadata
