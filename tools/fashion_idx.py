"""Reader for the Fashion-MNIST IDX files shipped by Debian's dataset-fashion-mnist package.

IDX format (LeCun): big-endian magic (0x0000, dtype code, ndim), ndim big-endian uint32
dimension sizes, then the row-major payload. Fashion-MNIST only uses dtype 0x08 (uint8).
"""

import gzip
import struct
from pathlib import Path

import numpy as np

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# Class names in label order, as published with the dataset (zalandoresearch/fashion-mnist).
FASHION_LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_idx(path: Path) -> np.ndarray:
    """Decode one (optionally gzipped) IDX file into a uint8 array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file (magic {zero:#x}, dtype {dtype_code:#x})")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    payload = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if payload.size != int(np.prod(dims)):
        raise ValueError(f"{path}: payload has {payload.size} bytes, header says {dims}")
    return payload.reshape(dims).copy()


def load_split(split: str, root: Path = FASHION_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 [n,28,28], labels int64 [n]) for split "train" or "t10k" (test)."""
    if split not in ("train", "t10k"):
        raise ValueError(f"unknown split {split!r}")
    images = read_idx(root / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(root / f"{split}-labels-idx1-ubyte.gz").astype(np.int64)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{split}: unexpected shapes {images.shape} / {labels.shape}")
    return images, labels
