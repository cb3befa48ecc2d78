"""PyTorch-eager side of `deno task bench`: the same probes as robustcheck, timed in this process.

Run by bench/run.ts with Debian's /usr/bin/python3 as a JSON-lines server: one request per stdin
line, one JSON reply per stdout line (logs go to stderr). Timing happens here, so the pipe's
latency is not part of any number. Requests:

  {"cmd": "load", "id": ..., "arch": "fashion-cnn"|"fashion-rgb"|"resnet18"|"mobilenet_v2",
   "onnx": path, "manifest": path}                       -> {"ok": true}
  {"cmd": "fwd" | "grad", "id": ..., "batch": n}        -> {"ms": ...}   (one timed run)
  {"cmd": "check", "id": ..., "image": path}            -> {"timings": {...}, "label": k}
  {"cmd": "quit"}

argv[1] is the number of intra-op threads (torch.set_num_threads; default 2).

The check mirrors src/check/defaults.ts (serverDefaults) + src/check/run_check.ts: prediction;
feature squeezing (bit depth, 2x2 median, and for colour models OpenCV's non-local means as in
Xu et al.'s code) scored in one batch; 20 randomized resize-pad draws in one batch; EoT-PGD (10
steps x 8 samples, batched, then 20 judging draws + the plain iterate in one batch); FGSM (one
gradient, all eps in one batch); L-inf and L2 PGD (20 steps, early stop); minimal-eps bisection
(PGD 10 steps at high, then 8 rounds, early stop). Numbers need not equal robustcheck's bit for
bit: this is for timing, but the work done (rows through the model, stops) is the same.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image
from torch import nn

SEED = 20261122


class Preprocessed(nn.Module):
    """[0,1] NCHW pixels -> the manifest's model input, like kernels/preprocess.ts, then the net."""

    def __init__(self, net: nn.Module, spec: dict) -> None:
        super().__init__()
        self.net = net
        scale = 255.0 if spec["scale"] == "byte" else 1.0
        c = spec["channels"]
        self.register_buffer("scale", torch.tensor(scale))
        self.register_buffer("mean", torch.tensor(spec["mean"], dtype=torch.float32).view(1, c, 1, 1))
        self.register_buffer("std", torch.tensor(spec["std"], dtype=torch.float32).view(1, c, 1, 1))
        self.nhwc = spec["layout"] == "NHWC"

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels * self.scale - self.mean) / self.std
        return self.net(x.permute(0, 2, 3, 1) if self.nhwc else x)


class OnnxModule(nn.Module):
    """The ONNX graph of a shipped model executed op by op with torch.nn.functional: the same
    weights and architecture as the file robustcheck serves, whatever tools/train_models.py
    currently builds. Covers the ops the shipped models use; anything else raises."""

    def __init__(self, path: str) -> None:
        super().__init__()
        graph = onnx.load(path).graph
        self.names = {}
        for i, t in enumerate(graph.initializer):
            self.register_buffer(f"w{i}", torch.from_numpy(numpy_helper.to_array(t).copy()))
            self.names[t.name] = f"w{i}"
        known = set(self.names)
        (self.input,) = [v.name for v in graph.input if v.name not in known]
        self.output = graph.output[0].name
        self.nodes = [(n.op_type, list(n.input), list(n.output),
                       {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
                      for n in graph.node]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env = {name: getattr(self, buf) for name, buf in self.names.items()}
        env[self.input] = x
        for op, ins, outs, a in self.nodes:
            i = [env[n] if n else None for n in ins]
            env[outs[0]] = self._op(op, i, a)
        return env[self.output]

    @staticmethod
    def _op(op: str, i: list, a: dict) -> torch.Tensor:
        pads = a.get("pads", [0, 0, 0, 0])
        if any(pads[k] != pads[k + 2] for k in range(2)):
            raise NotImplementedError(f"{op}: asymmetric pads {pads}")
        if op == "Conv":
            return F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                            padding=pads[:2], dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        if op == "BatchNormalization":
            return F.batch_norm(i[0], i[3], i[4], i[1], i[2], training=False, eps=a.get("epsilon", 1e-5))
        if op == "Relu":
            return F.relu(i[0])
        if op == "MaxPool":
            return F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", [1, 1]), pads[:2],
                                ceil_mode=bool(a.get("ceil_mode", 0)))
        if op == "AveragePool":
            return F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides", [1, 1]), pads[:2],
                                ceil_mode=bool(a.get("ceil_mode", 0)),
                                count_include_pad=bool(a.get("count_include_pad", 0)))
        if op == "GlobalAveragePool":
            return i[0].mean((2, 3), keepdim=True)
        if op == "Flatten":
            return torch.flatten(i[0], a.get("axis", 1))
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise NotImplementedError("Gemm: transA/alpha/beta")
            w = i[1] if a.get("transB", 0) else i[1].t()
            return F.linear(i[0], w, i[2] if len(i) > 2 else None)
        if op == "Transpose":
            return i[0].permute(*a["perm"])
        if op == "Add":
            return i[0] + i[1]
        if op == "Identity":
            return i[0]
        raise NotImplementedError(f"op {op}")


def build(arch: str, onnx_path: str) -> nn.Module:
    """Shipped models: their ONNX graph run by OnnxModule. ImageNet models: the torchvision module
    rebuilt with the export seed, i.e. the weights tools/export_bench_models.py exported (torch
    runs BatchNorm unfolded, as eager code does)."""
    if arch in ("resnet18", "mobilenet_v2"):
        import torchvision
        torch.manual_seed(SEED)
        return getattr(torchvision.models, arch)(weights=None)
    return OnnxModule(onnx_path)


# ---------------------------------------------------------------- kernels (torch versions)

def bit_depth(x: torch.Tensor, bits: int) -> torch.Tensor:
    m = 2 ** bits - 1
    return torch.round(x * m) / m


def median2(x: torch.Tensor) -> torch.Tensor:
    """2x2 median, scipy convention: window rows/cols {i-1, i}, edge reflected (= replicated for a
    1-pixel border); rank 2 of the 4 sorted values (the upper median), like kernels/squeeze.ts."""
    n, c, h, w = x.shape
    padded = F.pad(x, (1, 0, 1, 0), mode="replicate")
    win = padded.unfold(2, 2, 1).unfold(3, 2, 1).reshape(n, c, h, w, 4)
    return win.sort(dim=-1).values[..., 2]


def non_local_means(x: torch.Tensor) -> torch.Tensor:
    """OpenCV's coloured NL-means 13-3-2 (Xu et al.'s code); RGB only."""
    import cv2
    img = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    out = cv2.fastNlMeansDenoisingColored(img, None, 2, 2, 3, 13)
    return torch.from_numpy(out.astype(np.float32) / 255).permute(2, 0, 1).unsqueeze(0)


def resize_pad_map(length: int, size: int, offset: int, canvas: int) -> torch.Tensor:
    """kernels/resize.ts resizePadMap; padding maps to index `length` (a zero row/column)."""
    i = torch.arange(length)
    k = (i * canvas) // length - offset
    inside = (k >= 0) & (k < size)
    return torch.where(inside, (k.clamp(min=0) * length) // size, torch.full_like(k, length))


def resize_pad(x: torch.Tensor, draws: list) -> torch.Tensor:
    """One resize-pad transform per output row (x has 1 row, or one row per draw): a gather, so
    autograd gives the adjoint for EoT."""
    n, c, h, w = x.shape
    padded = F.pad(x, (0, 1, 0, 1))
    out = []
    for d, (size, top, left, canvas) in enumerate(draws):
        src = padded[d if n > 1 else 0]
        rows = resize_pad_map(h, size, top, canvas)
        cols = resize_pad_map(w, size, left, canvas)
        out.append(src[:, rows][:, :, cols])
    return torch.stack(out)


def draw_resize_pad(gen: torch.Generator, min_size: int, max_size: int, canvas: int) -> tuple:
    u = torch.rand(3, generator=gen, dtype=torch.float64).tolist()
    size = min_size + int(u[0] * (max_size - min_size))
    return size, int(u[1] * (canvas - size)), int(u[2] * (canvas - size)), canvas


# ---------------------------------------------------------------- attacks

def loss_grad(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple:
    """Per-row cross-entropy gradient w.r.t. the pixels, and the logits of the same forward."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    loss = F.cross_entropy(logits, labels, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad, logits.detach()


def linf_step(x, g, origin, eps, alpha):
    moved = x + alpha * g.sign()
    return (origin + (moved - origin).clamp(-eps, eps)).clamp(0, 1)


def l2_step(x, g, origin, eps, alpha):
    norm = g.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)
    moved = x + alpha * g / norm
    delta = moved - origin
    dn = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    factor = torch.where(dn > eps, eps / dn.clamp(min=1e-30), torch.ones_like(dn))
    return (origin + delta * factor).clamp(0, 1)


def pgd(model, x0, label, norm, eps, alpha, steps) -> bool:
    """Untargeted PGD from the clean image; every iterate 0..steps is checked, stops on success."""
    step = linf_step if norm == "linf" else l2_step
    y = torch.tensor([label])
    x = x0.clone()
    for t in range(steps + 1):
        if t < steps:
            g, logits = loss_grad(model, x, y)
        else:
            with torch.no_grad():
                logits = model(x)
        if int(logits.argmax(1)) != label:
            return True
        if t < steps:
            x = step(x, g, x0, eps, alpha)
    return False


def run_check(model: nn.Module, x: torch.Tensor) -> tuple:
    c, h, w = x.shape[1:]
    grey = c == 1
    budget = 0.1 if grey else 8 / 255
    side = min(h, w)
    canvas = max(side + 1, round(side * 331 / 299))
    timings = {}
    gen = torch.Generator().manual_seed(0)

    def timed(stage, work):
        start = time.perf_counter()
        out = work()
        timings[stage] = (time.perf_counter() - start) * 1000
        return out

    started = time.perf_counter()
    with torch.no_grad():
        clean = timed("predictionMs", lambda: model(x))
    label = int(clean.argmax(1))

    def squeeze():
        versions = [bit_depth(x, 1 if grey else 5), median2(x)]
        if not grey:
            versions.append(non_local_means(x))
        with torch.no_grad():
            p = F.softmax(model(torch.cat(versions)), dim=1)
        return (p - F.softmax(clean, dim=1)).abs().sum(1).max()
    timed("squeezeMs", squeeze)

    def randomization():
        draws = [draw_resize_pad(gen, side, canvas, canvas) for _ in range(20)]
        with torch.no_grad():
            return (model(resize_pad(x, draws)).argmax(1) == label).float().mean()
    timed("randomizationMs", randomization)

    def eot():
        eps, alpha, samples = budget, 2.5 * budget / 10, 8
        adv = x.clone()
        y = torch.full((samples,), label)
        for _ in range(10):
            draws = [draw_resize_pad(gen, side, canvas, canvas) for _ in range(samples)]
            a = adv.detach().requires_grad_(True)
            loss = F.cross_entropy(model(resize_pad(a, draws)), y, reduction="sum") / samples
            (g,) = torch.autograd.grad(loss, a)
            adv = linf_step(adv, g, x, eps, alpha)
        judge = [draw_resize_pad(gen, side, canvas, canvas) for _ in range(20)]
        with torch.no_grad():
            z = model(torch.cat([adv, resize_pad(adv, judge)]))
        return (z[1:].argmax(1) != label).float().mean()
    timed("eotMs", eot)

    def fgsm():
        g, logits = loss_grad(model, x, torch.tensor([label]))
        if int(logits.argmax(1)) != label:
            return
        eps = [0.05, 0.1, 0.25] if grey else [2 / 255, 4 / 255, 8 / 255]
        rows = torch.cat([(x + e * g.sign()).clamp(0, 1) for e in eps])
        with torch.no_grad():
            return model(rows).argmax(1)
    timed("fgsmMs", fgsm)

    def pgd_probes():
        pgd(model, x, label, "linf", budget, 2.5 * budget / 20, 20)
        l2 = 1.5 if grey else 0.5
        pgd(model, x, label, "l2", l2, 2.5 * l2 / 20, 20)
    timed("pgdMs", pgd_probes)

    def minimal_epsilon():
        with torch.no_grad():
            if int(model(x).argmax(1)) != label:
                return 0.0
        lo, hi = 0.0, 0.5 if grey else 0.25
        if not pgd(model, x, label, "linf", hi, 0.25 * hi, 10):
            return None
        for _ in range(8):
            mid = (lo + hi) / 2
            if pgd(model, x, label, "linf", mid, 0.25 * mid, 10):
                hi = mid
            else:
                lo = mid
        return hi
    timed("minimalEpsilonMs", minimal_epsilon)
    timings["totalMs"] = (time.perf_counter() - started) * 1000
    return timings, label


def load_pixels(path: str, channels: int) -> torch.Tensor:
    """PNG -> [1, C, H, W] in [0,1]; the fixtures are already at the model's input size."""
    img = np.asarray(Image.open(path).convert("L" if channels == 1 else "RGB"), dtype=np.float32) / 255
    t = torch.from_numpy(img)
    return (t.unsqueeze(0) if channels == 1 else t.permute(2, 0, 1)).unsqueeze(0).contiguous()


def main() -> None:
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    models = {}
    specs = {}
    gen = torch.Generator().manual_seed(1)
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        try:
            if cmd == "quit":
                break
            if cmd == "load":
                spec = json.loads(Path(req["manifest"]).read_text())["input"]
                model = Preprocessed(build(req["arch"], req["onnx"]), spec).eval()
                for p in model.parameters():
                    p.requires_grad_(False)
                models[req["id"]], specs[req["id"]] = model, spec
                reply = {"ok": True}
            elif cmd in ("fwd", "grad"):
                model, spec = models[req["id"]], specs[req["id"]]
                n = req["batch"]
                x = torch.rand(n, spec["channels"], spec["height"], spec["width"], generator=gen)
                y = torch.randint(0, 10, (n,), generator=gen)
                start = time.perf_counter()
                if cmd == "fwd":
                    with torch.no_grad():
                        model(x)
                else:
                    loss_grad(model, x, y)
                reply = {"ms": (time.perf_counter() - start) * 1000}
            elif cmd == "check":
                model, spec = models[req["id"]], specs[req["id"]]
                timings, label = run_check(model, load_pixels(req["image"], spec["channels"]))
                reply = {"timings": timings, "label": label}
            else:
                reply = {"error": f"unknown command {cmd}"}
        except Exception as error:  # reported to bench/run.ts, which prints it
            reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
