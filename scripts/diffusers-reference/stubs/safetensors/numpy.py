"""safetensors.numpy over the NumPy reader (reading only)."""
from . import read


def load_file(filename):
    return read(filename)[1]


def save_file(*a, **k):
    raise NotImplementedError("safetensors stub: writing")
