"""Deterministic colourisation of Fashion-MNIST into 32x32 RGB images (the fashion-rgb data).

One numpy PCG64 stream `default_rng(seed)` is consumed image by image in index order: for image i,
draw `integers(0, 256, size=(2, 3))` (row 0 = background bg_i, row 1 = garment fg_i) and redraw
while the mean absolute channel difference is below MIN_CONTRAST, so the garment stays visible.
Colours of image i therefore do not depend on how many images follow it (fixtures = a prefix). The 28x28 grey image is
padded by 2 px of zeros on each side, v = grey / 255, and
    pixel = round(bg * (1 - v) + fg * v)    (round half to even, numpy.rint), stored as uint8.
"""

import numpy as np

MIN_CONTRAST = 64.0


def draw_colours(n: int, seed: int) -> np.ndarray:
    """uint8 [n, 2, 3]: per-image (background, foreground) RGB colours."""
    rng = np.random.default_rng(seed)
    colours = np.empty((n, 2, 3), dtype=np.uint8)
    for i in range(n):
        pair = rng.integers(0, 256, size=(2, 3))
        while np.abs(pair[0] - pair[1]).mean() < MIN_CONTRAST:
            pair = rng.integers(0, 256, size=(2, 3))
        colours[i] = pair
    return colours


def colourise(images: np.ndarray, seed: int) -> np.ndarray:
    """uint8 [n,28,28] greyscale -> uint8 [n,32,32,3] RGB (NHWC), see module doc."""
    colours = draw_colours(images.shape[0], seed).astype(np.float32)
    v = np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.float32)[..., None] / 255.0
    bg = colours[:, None, None, 0, :]
    fg = colours[:, None, None, 1, :]
    return np.rint(bg * (1.0 - v) + fg * v).clip(0, 255).astype(np.uint8)
