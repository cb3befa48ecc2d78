"""Writes tests/fixtures/kernels/*.json: reference outputs for kernels/ computed with
numpy / scipy / torch / cv2. Run with Debian's interpreter:

    /usr/bin/python3 tools/kernel_fixtures.py

Arrays are stored as flat lists of float32 values (exactly representable in JSON doubles) next
to their shape. Everything is seeded, so re-running reproduces the same files.
"""
import json
import os

import cv2
import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "kernels")
rs = np.random.RandomState(20181)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def smooth_image(c, h, w, noise):
    """Smooth pattern + Gaussian noise, quantised to k/255 (so uint8 round-trips are exact)."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 90 * np.sin(xx / 5.0 + k) * np.cos(yy / 7.0 - k) for k in range(c)])
    return (np.clip(np.rint(base + rs.normal(0, noise, (c, h, w))), 0, 255) / 255).astype(np.float32)


def preprocess():
    n, c, h, w = 2, 3, 4, 5
    px = rs.rand(n, c, h, w).astype(np.float32)
    cases = []
    for scale, mean, std in [("byte", [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
                             ("unit", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]:
        mult = 255.0 if scale == "byte" else 1.0
        m = np.array(mean, np.float64)[None, :, None, None]
        s = np.array(std, np.float64)[None, :, None, None]
        nchw = (px.astype(np.float64) * mult - m) / s
        for layout in ["NCHW", "NHWC"]:
            out = nchw if layout == "NCHW" else nchw.transpose(0, 2, 3, 1)
            spec = dict(name="x", layout=layout, channels=c, height=h, width=w, scale=scale, mean=mean, std=std)
            cases.append(dict(spec=spec, n=n, pixels=flat(px), expected=flat(out)))
    write("preprocess.json", dict(cases=cases))


def softmax():
    rows, cols = 5, 7
    z = (rs.randn(rows, cols) * 4).astype(np.float32)
    z[1] += 1000  # stability: naive exp overflows
    z[2] = -z[2] - 1000
    z[3, 2] = z[3, 5] = z[3].max() + 1  # tie: argmax/topK take the lower index first
    zt = torch.from_numpy(z).double()
    p = torch.softmax(zt, dim=1).numpy()
    p[4, 3] = 0.0  # log(max(p, 1e-30))
    write("softmax.json", dict(
        rows=rows, cols=cols, logits=flat(z),
        softmax=flat(torch.softmax(zt, dim=1).numpy()),
        logSoftmax=flat(torch.log_softmax(zt, dim=1).numpy()),
        probabilities=flat(p),
        logitsFromProbabilities=flat(np.log(np.maximum(p.astype(np.float32).astype(np.float64), 1e-30))),
        argmax=[int(v) for v in np.argmax(z, axis=1)],
    ))


def resize():
    cases = []
    for (c, h, w, oh, ow) in [(3, 32, 32, 17, 23), (3, 12, 10, 29, 31), (1, 28, 28, 20, 36),
                              (2, 9, 7, 9, 7), (2, 96, 80, 13, 32)]:
        img = rs.rand(c, h, w).astype(np.float32)
        t = torch.from_numpy(img)[None]
        bil = F.interpolate(t, size=(oh, ow), mode="bilinear", align_corners=False, antialias=True)[0]
        near = F.interpolate(t, size=(oh, ow), mode="nearest")[0]
        cases.append(dict(shape=dict(channels=c, height=h, width=w), outH=oh, outW=ow,
                          img=flat(img), bilinear=flat(bil.numpy()), nearest=flat(near.numpy())))
    # Xie et al. resize-pad: nearest to size, zero-pad onto canvas at (top, left), nearest back.
    # The adjoint is torch's autograd of that composition (scatter-add through nearest).
    rp = []
    for (n, c, h, w, size, canvas, top, left) in [(2, 3, 20, 20, 23, 26, 1, 3), (1, 1, 28, 28, 30, 33, 3, 0),
                                                  (2, 3, 12, 16, 9, 14, 5, 2)]:
        img = rs.rand(n, c, h, w).astype(np.float32)
        grad = rs.randn(n, c, h, w).astype(np.float32)
        x = torch.from_numpy(img).requires_grad_(True)
        r = F.interpolate(x, size=(size, size), mode="nearest")
        p = F.pad(r, (left, canvas - size - left, top, canvas - size - top))
        y = F.interpolate(p, size=(h, w), mode="nearest")
        (y * torch.from_numpy(grad)).sum().backward()
        rp.append(dict(shape=dict(n=n, channels=c, height=h, width=w),
                       t=dict(size=size, top=top, left=left, canvas=canvas),
                       img=flat(img), grad=flat(grad), forward=flat(y.detach().numpy()),
                       adjoint=flat(x.grad.numpy())))
    write("resize.json", dict(cases=cases, resizePad=rp))


def squeeze():
    # bitDepth: float32 inputs, numpy float32 arithmetic as Xu's code does (np.rint(x * m) / m).
    ties = []
    for b in range(1, 9):
        m = 2 ** b - 1
        ties += [(2 * k + 1) / (2 * m) for k in range(min(m, 6))]
    x = np.concatenate([rs.rand(200), np.array(ties), [0.0, 1.0, 0.5]]).astype(np.float32)
    bits = {}
    for b in range(1, 9):
        m = 2 ** b - 1
        bits[str(b)] = flat(np.rint(x * np.float32(m)) / np.float32(m))
    med = []
    for (c, h, w) in [(3, 13, 11), (1, 8, 9)]:
        img = rs.rand(c, h, w).astype(np.float32)
        img[0, 2:5, 3:6] = 0.25  # plateaus: ties inside windows
        out = {}
        for k in [2, 3, 4, 5]:
            out[str(k)] = flat(scipy.ndimage.median_filter(img, size=(1, k, k), mode="reflect"))
        med.append(dict(shape=dict(channels=c, height=h, width=w), img=flat(img), median=out))
    nlm = []
    for (c, h, w, search, patch, hh) in [(1, 28, 28, 11, 3, 4), (1, 28, 28, 13, 3, 2),
                                         (3, 32, 32, 11, 3, 4), (3, 32, 32, 13, 3, 2), (3, 9, 10, 5, 3, 10)]:
        img = smooth_image(c, h, w, noise=2.5)
        u8 = np.rint(img * 255).astype(np.uint8)
        hwc = u8[0] if c == 1 else np.ascontiguousarray(u8.transpose(1, 2, 0))
        cv = cv2.fastNlMeansDenoising(hwc, None, hh, patch, search)
        cv = cv[None] if c == 1 else cv.transpose(2, 0, 1)
        nlm.append(dict(shape=dict(channels=c, height=h, width=w), search=search, patch=patch, h=hh,
                        img=flat(img), cv2=flat(cv.astype(np.float32) / 255),
                        reference=flat(nlm_reference(img.astype(np.float64) * 255, search, patch, hh) / 255)))
    write("squeeze.json", dict(bitDepth=dict(x=flat(x), out=bits), median=med, nlm=nlm))


def nlm_reference(x, search, patch, h, cutoff=0.001):
    """Slow, direct NL-means with the convention documented in kernels/squeeze.ts (0..255 scale)."""
    c, hh, ww = x.shape
    sh, ph = search // 2, patch // 2
    b = sh + ph
    p = np.pad(x, ((0, 0), (b, b), (b, b)), mode="reflect")  # numpy "reflect" == reflect-101
    acc = np.zeros_like(x)
    wsum = np.zeros((hh, ww))
    for dy in range(-sh, sh + 1):
        for dx in range(-sh, sh + 1):
            d2 = np.zeros((hh, ww))
            for a in range(-ph, ph + 1):
                for e in range(-ph, ph + 1):
                    u = p[:, b + a:b + a + hh, b + e:b + e + ww]
                    v = p[:, b + dy + a:b + dy + a + hh, b + dx + e:b + dx + e + ww]
                    d2 += ((u - v) ** 2).sum(0)
            d2 /= patch * patch * c
            wt = np.exp(-np.maximum(d2, 0) / (h * h))
            wt[wt < cutoff] = 0
            acc += wt * p[:, b + dy:b + dy + hh, b + dx:b + dx + ww]
            wsum += wt
    return acc / wsum


def norms():
    rows, d = 4, 30
    x0 = rs.rand(rows, d).astype(np.float32)
    x = (x0 + rs.randn(rows, d) * 0.2).astype(np.float32)
    x[3] = x0[3] + 0.001  # already inside both balls
    g = rs.randn(rows, d).astype(np.float32)
    g[2] = 0
    g[1, :5] = 0
    eps, alpha = 0.1, 0.05
    delta = x.astype(np.float64) - x0
    n2 = np.maximum(np.linalg.norm(delta, axis=1, keepdims=True), 1e-12)
    gn = np.maximum(np.linalg.norm(g.astype(np.float64), axis=1, keepdims=True), 1e-12)
    write("norms.json", dict(
        rows=rows, rowSize=d, eps=eps, alpha=alpha, x=flat(x), x0=flat(x0), g=flat(g),
        linf=[float(v) for v in np.abs(x.astype(np.float64)).max(1)],
        l2=[float(v) for v in np.linalg.norm(x.astype(np.float64), axis=1)],
        projectLinf=flat(np.clip(x0 + np.clip(delta, -eps, eps), 0, 1)),
        projectL2=flat(np.clip(x0 + delta * np.minimum(1, eps / n2), 0, 1)),
        signStep=flat(alpha * np.sign(g)),
        l2Step=flat(alpha * g / gn),
    ))


def rng():
    """Independent xoroshiro128+ (64-bit, a=24 b=16 c=37) mirroring pure-rand's seeding
    (s0 = 0xFFFFFFFF:~seed, s1 = seed:0), 32 warm-up outputs dropped, then uniformFloat64."""
    m64 = (1 << 64) - 1

    def rotl(v, k):
        return ((v << k) | (v >> (64 - k))) & m64

    out = {}
    for seed in [0, 1, 42, 2 ** 31 - 1, -5]:
        s0 = (0xFFFFFFFF << 32) | (~seed & 0xFFFFFFFF)
        s1 = (seed & 0xFFFFFFFF) << 32
        vals = []
        for _ in range(32 + 2 * 8):
            r = (s0 + s1) & 0xFFFFFFFF
            s1 ^= s0
            s0 = rotl(s0, 24) ^ s1 ^ ((s1 << 16) & m64)
            s1 = rotl(s1, 37)
            vals.append(r)
        vals = vals[32:]
        out[str(seed)] = [(vals[2 * i] & (2 ** 26 - 1)) * 2.0 ** -26 + (vals[2 * i + 1] & (2 ** 27 - 1)) * 2.0 ** -53
                          for i in range(8)]
    write("rng.json", out)


if __name__ == "__main__":
    preprocess()
    softmax()
    resize()
    squeeze()
    norms()
    rng()
