"""A NumPy reader of the safetensors format (https://github.com/huggingface/safetensors, format
section), standing in for the Rust package that is not installed here: an 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then
the raw little-endian data. Reading only; writing raises."""
import json
import struct

import numpy as np

__version__ = "0.3.3"

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read(path):
    """(metadata or None, {name: numpy array}) of a .safetensors file."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', None)
    base = 8 + n
    out = {}
    for name, e in header.items():
        if e['dtype'] not in _DTYPES:
            raise ValueError("%s: tensor %s has dtype %s, which this reader lacks" % (path, name, e['dtype']))
        start, end = e['data_offsets']
        a = np.frombuffer(data, dtype=np.dtype(_DTYPES[e['dtype']]).newbyteorder('<'), count=(end - start)
                          // np.dtype(_DTYPES[e['dtype']]).itemsize, offset=base + start)
        out[name] = a.reshape(e['shape']).copy()
    return meta, out


class safe_open:
    """safetensors.safe_open(path, framework="pt"|"np")."""

    def __init__(self, path, framework="pt", device="cpu"):
        self._meta, self._arrays = read(path)
        self._framework = framework

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def metadata(self):
        return self._meta

    def keys(self):
        return list(self._arrays)

    def get_tensor(self, name):
        a = self._arrays[name]
        if self._framework == "pt":
            import torch
            return torch.from_numpy(a)
        return a


def deserialize(*a, **k):
    raise NotImplementedError("safetensors stub: deserialize")


def serialize(*a, **k):
    raise NotImplementedError("safetensors stub: writing")


class SafetensorError(Exception):
    pass
