"""Independent reference for robustcheck's attack engine (src/attacks): writes expected FGSM /
deterministic PGD success flags and minimal-epsilon values to tests/fixtures/attacks/.

Run with Debian's interpreter (CPU, deterministic; overwrites outputs; about 4 minutes):
    /usr/bin/python3 tools/attack_fixtures.py [model-id ...]   # default: every model

Models are read from their ONNX files only (no training code is imported): every graph is
re-evaluated with differentiable torch ops (see `TorchGraph`), the manifest's preprocessing
input = (pixel * (255 if scale == "byte" else 1) - mean[c]) / std[c] (laid out as `layout`) is
applied in front, and gradients are taken by autograd with respect to the [0,1] pixels.

Conventions (the same as src/attacks, documented there):
- pixels p = byte / 255 as float32, NCHW; the model runs in float32;
- argmax breaks ties towards the first index; sign(0) = 0;
- loss ce = -log softmax(z)[y]; margin = max_{j!=y} z_j - z_y (per row, against the true label
  when untargeted, the target when targeted); untargeted steps ascend, targeted steps descend;
- an iterate is adversarial when argmax != label (untargeted) or argmax == target (targeted);
  success = adversarial at ANY iterate t = 0..steps (t = 0 is the start = the clean image here);
  `iterations` = first such t, or `steps` on failure;
- one step: x' = x + alpha * s with s = sign(g) (linf) or g / max(||g||_2, 1e-12) (l2), the
  step rounded to float32 and added in float32; then delta = x' - x0 is projected onto the
  eps-ball (linf: clamp to [-eps, eps]; l2: scaled by min(1, eps / max(||delta||_2, 1e-12))) and
  x = clamp(x0 + delta, 0, 1), computed in float64 and rounded to float32;
- FGSM is one such step with alpha = eps; minimal epsilon is the bisection of src/attacks
  (check clean, then `high`, then `bisectionSteps` midpoints keeping the upper end on success).

Outputs, per model: tests/fixtures/attacks/<id>.json with the model's SHA-256, the clean argmax,
FGSM success flags per eps, success flags and first adversarial iterates per PGD configuration
(settings per image set, see SETTINGS), and minimal eps for the first 40 images; plus
fashion-linear-weights.bin (the softmax-regression weights for engine-only tests). Every graph is
also cross-checked against tools/onnx_numpy.py before use.
"""

import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import onnx_numpy  # noqa: E402  (independent numpy evaluator, used as a cross-check only)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/attacks"
# model id -> (model directory, image set under tests/fixtures/)
MODELS = {
    "fashion-linear": (ROOT / "tests/fixtures/models/fashion-linear", "fashion"),
    "fashion-cnn": (ROOT / "models/fashion-cnn", "fashion"),
    "fashion-cnn-robust": (ROOT / "models/fashion-cnn-robust", "fashion"),
    "fashion-rgb": (ROOT / "models/fashion-rgb", "fashion-rgb"),
}
# Attack settings per image set. The colour model breaks at much smaller eps (its median minimal
# eps is below 0.01), so its settings are scaled down to keep the success flags informative.
GREY = {
    "fgsm": {"eps": [0.03, 0.1, 0.25], "loss": "ce"},
    "pgd": [
        {"name": "linf-ce", "norm": "linf", "eps": 0.1, "alpha": 0.01, "steps": 20, "loss": "ce",
         "targeted": False},
        {"name": "l2-ce", "norm": "l2", "eps": 1.5, "alpha": 0.25, "steps": 10, "loss": "ce",
         "targeted": False},
        {"name": "linf-margin-targeted", "norm": "linf", "eps": 0.1, "alpha": 0.01, "steps": 20,
         "loss": "margin", "targeted": True},
    ],
    "minimalEpsilon": {"low": 0.0, "high": 0.5, "bisectionSteps": 8, "steps": 10,
                       "alphaFactor": 0.25, "loss": "ce", "images": 40},
}
COLOUR = {
    "fgsm": {"eps": [0.002, 0.005, 0.02], "loss": "ce"},
    "pgd": [
        {"name": "linf-ce", "norm": "linf", "eps": 0.004, "alpha": 0.0005, "steps": 20,
         "loss": "ce", "targeted": False},
        {"name": "l2-ce", "norm": "l2", "eps": 0.2, "alpha": 0.04, "steps": 10, "loss": "ce",
         "targeted": False},
        {"name": "linf-margin-targeted", "norm": "linf", "eps": 0.01, "alpha": 0.001,
         "steps": 20, "loss": "margin", "targeted": True},
    ],
    "minimalEpsilon": {"low": 0.0, "high": 0.1, "bisectionSteps": 8, "steps": 10,
                       "alphaFactor": 0.25, "loss": "ce", "images": 40},
}
# Targeted configurations aim at (label + 1) mod classes.
SETTINGS = {"fashion": GREY, "fashion-rgb": COLOUR}


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class TorchGraph:
    """Evaluates an ONNX graph (the op subset the shipped models use, opset 13) with torch ops,
    so autograd can differentiate it. Unsupported ops or attributes raise."""

    def __init__(self, path: Path) -> None:
        self.model = onnx.load(str(path))
        self.consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
                       for t in self.model.graph.initializer}
        self.input = [i.name for i in self.model.graph.input if i.name not in self.consts][0]
        self.output = self.model.graph.output[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        env = dict(self.consts)
        env[self.input] = x
        for node in self.model.graph.node:
            a = _attrs(node)
            i = [env[n] if n else None for n in node.input]
            env[node.output[0]] = self._op(node.op_type, i, a)
        return env[self.output]

    @staticmethod
    def _pads(a: dict) -> tuple:
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise NotImplementedError("auto_pad")
        p = a.get("pads", [0, 0, 0, 0])
        if p[0] != p[2] or p[1] != p[3]:
            raise NotImplementedError("asymmetric pads")
        return (p[0], p[1])

    def _op(self, op: str, i: list, a: dict) -> torch.Tensor:
        if op == "Conv":
            return F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                            padding=self._pads(a), dilation=a.get("dilations", [1, 1]),
                            groups=a.get("group", 1))
        if op == "Relu":
            return torch.relu(i[0])
        if op == "MaxPool":
            return F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]),
                                padding=self._pads(a), ceil_mode=bool(a.get("ceil_mode", 0)))
        if op == "AveragePool":
            return F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]),
                                padding=self._pads(a), ceil_mode=bool(a.get("ceil_mode", 0)),
                                count_include_pad=bool(a.get("count_include_pad", 0)))
        if op == "GlobalAveragePool":
            return i[0].mean(dim=(2, 3), keepdim=True)
        if op == "BatchNormalization":
            return F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5))
        if op == "Flatten":
            axis = a.get("axis", 1)
            return i[0].reshape(int(np.prod(i[0].shape[:axis])), -1)
        if op == "Reshape":
            shape = [int(d) if d != 0 else i[0].shape[k] for k, d in enumerate(i[1].tolist())]
            return i[0].reshape(shape)
        if op == "Transpose":
            return i[0].permute(*a["perm"])
        if op == "Gemm":
            x = i[0].t() if a.get("transA", 0) else i[0]
            w = i[1].t() if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (x @ w)
            return y + a.get("beta", 1.0) * i[2] if len(i) > 2 and i[2] is not None else y
        if op == "MatMul":
            return i[0] @ i[1]
        if op == "Add":
            return i[0] + i[1]
        if op == "Identity":
            return i[0]
        if op == "Constant":
            return torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        raise NotImplementedError(op)


class Model:
    """[0,1] NCHW pixels -> logits, with the manifest's preprocessing in front."""

    def __init__(self, directory: Path) -> None:
        self.manifest = json.loads((directory / "manifest.json").read_text())
        self.graph = TorchGraph(directory / "model.onnx")
        spec = self.manifest["input"]
        self.scale = 255.0 if spec["scale"] == "byte" else 1.0
        self.mean = torch.tensor(spec["mean"], dtype=torch.float32).reshape(1, -1, 1, 1)
        self.std = torch.tensor(spec["std"], dtype=torch.float32).reshape(1, -1, 1, 1)
        self.nhwc = spec["layout"] == "NHWC"
        self.probabilities = self.manifest["output"]["kind"] == "probabilities"

    def logits(self, pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels * self.scale - self.mean) / self.std
        if self.nhwc:
            x = x.permute(0, 2, 3, 1)
        z = self.graph(x)
        return torch.log(torch.clamp(z, min=1e-30)) if self.probabilities else z

    def gradient(self, pixels: np.ndarray, labels: np.ndarray, loss: str):
        """(logits, d loss[row] / d pixels[row]) for float32 pixels [n,C,H,W]."""
        x = torch.from_numpy(pixels).requires_grad_(True)
        z = self.logits(x)
        y = torch.from_numpy(labels.astype(np.int64))
        if loss == "ce":
            per_row = F.cross_entropy(z, y, reduction="none")
        else:
            zy = z.gather(1, y[:, None])[:, 0]
            others = z.clone()
            others[torch.arange(len(y)), y] = -float("inf")
            per_row = others.max(dim=1).values - zy
        (g,) = torch.autograd.grad(per_row.sum(), x)
        return z.detach().numpy(), g.numpy()

    def check_against_numpy(self, pixels: np.ndarray) -> float:
        """Max |torch graph - tools/onnx_numpy.py| on the logits: two independent evaluators."""
        x = (pixels * np.float32(self.scale) - self.mean.numpy()) / self.std.numpy()
        if self.nhwc:
            x = x.transpose(0, 2, 3, 1)
        want = onnx_numpy.run(self.graph.model, {self.graph.input: x.astype(np.float32)})
        with torch.no_grad():
            got = self.graph(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()
        return float(np.abs(got - want[self.graph.output]).max())

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.logits(torch.from_numpy(pixels)).numpy().argmax(axis=1)


def step(x: np.ndarray, x0: np.ndarray, g: np.ndarray, eps: np.ndarray, alpha: np.ndarray,
         norm: str) -> np.ndarray:
    """One documented update on float32 rows (eps and alpha per row), rounding as kernels/norms.ts:
    step = float32(alpha * sign(g)) or float32(g * alpha / max(||g||_2, 1e-12)); x' = x + step in
    float32; projection in float64 on the float32 values, result rounded to float32."""
    n = x.shape[0]
    g64 = g.astype(np.float64).reshape(n, -1)
    if norm == "linf":
        s = (alpha[:, None] * np.sign(g64)).astype(np.float32)
    else:
        length = np.maximum(np.sqrt((g64 * g64).sum(axis=1, keepdims=True)), 1e-12)
        s = (g64 * (alpha[:, None] / length)).astype(np.float32)
    moved = (x.reshape(n, -1) + s).astype(np.float64)
    base = x0.astype(np.float64).reshape(n, -1)
    delta = moved - base
    if norm == "linf":
        delta = np.clip(delta, -eps[:, None], eps[:, None])
    else:
        length = np.maximum(np.sqrt((delta * delta).sum(axis=1, keepdims=True)), 1e-12)
        delta = delta * np.minimum(1.0, eps[:, None] / length)
    return np.clip(base + delta, 0.0, 1.0).astype(np.float32).reshape(x.shape)


def adversarial(pred: np.ndarray, labels: np.ndarray, targets) -> np.ndarray:
    return pred == targets if targets is not None else pred != labels


def pgd(model: Model, x0: np.ndarray, labels: np.ndarray, norm: str, eps, alpha, steps: int,
        loss: str, targets=None):
    """Deterministic PGD (start = clean image, one restart); eps/alpha scalars or per row.
    Rows are independent, so running every row for all steps and keeping the first adversarial
    iterate gives the same answer as the engine's early stopping."""
    n = x0.shape[0]
    eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), (n,))
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (n,))
    sign = -1.0 if targets is not None else 1.0
    grad_labels = targets if targets is not None else labels
    first = np.full(n, -1)
    x = x0.copy()
    for t in range(steps + 1):
        if t < steps:
            z, g = model.gradient(x, grad_labels, loss)
            pred = z.argmax(axis=1)
        else:
            pred = model.predict(x)
        hit = adversarial(pred, labels, targets) & (first < 0)
        first[hit] = t
        if t < steps:
            x = step(x, x0, sign * g, eps, alpha, norm)
    return first >= 0, np.where(first >= 0, first, steps)


def fgsm(model: Model, x0: np.ndarray, labels: np.ndarray, eps_list: list, loss: str) -> np.ndarray:
    """[n, len(eps)] success flags: adversarial at the clean image or after one step alpha=eps."""
    z, g = model.gradient(x0, labels, loss)
    clean_adv = z.argmax(axis=1) != labels
    flags = []
    for eps in eps_list:
        e = np.full(x0.shape[0], eps)
        x1 = step(x0, x0, g, e, e, "linf")
        flags.append(clean_adv | (model.predict(x1) != labels))
    return np.stack(flags, axis=1)


def minimal_epsilon(model: Model, x0: np.ndarray, labels: np.ndarray, cfg: dict) -> list:
    """Upper end of the bisection per image; 0.0 if clean is misclassified, None if `high` fails."""
    n = x0.shape[0]
    clean_adv = model.predict(x0) != labels
    inner = lambda e: pgd(model, x0, labels, "linf", e, cfg["alphaFactor"] * e, cfg["steps"],
                          cfg["loss"])[0]
    broken_high = inner(np.full(n, cfg["high"]))
    lo, hi = np.full(n, cfg["low"]), np.full(n, cfg["high"])
    for _ in range(cfg["bisectionSteps"]):
        mid = (lo + hi) / 2
        ok = inner(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    out = []
    for k in range(n):
        out.append(0.0 if clean_adv[k] else (float(hi[k]) if broken_high[k] else None))
    return out


def load_images(name: str):
    """8-bit PNGs of tests/fixtures/<name>/ in labels.json order -> float32 NCHW byte / 255."""
    directory = ROOT / "tests/fixtures" / name
    entries = json.loads((directory / "labels.json").read_text())
    imgs = []
    for e in entries:
        img = cv2.imread(str(directory / e["file"]), cv2.IMREAD_UNCHANGED)
        if img.ndim == 2:
            img = img[:, :, None]
        else:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)  # cv2 decodes colour as BGR
        imgs.append(img.transpose(2, 0, 1))
    pixels = np.stack(imgs).astype(np.float32) / np.float32(255)
    return pixels, np.array([e["label"] for e in entries], dtype=np.int64)


def write_linear_weights(model: Model, path: Path) -> None:
    """The softmax-regression model's Gemm(transB=1) weights as raw little-endian float32:
    W [classes, 784] row-major, then b [classes]. Lets the TS unit tests run the exact linear
    model without the ONNX runtime."""
    (gemm,) = [n for n in model.graph.model.graph.node if n.op_type == "Gemm"]
    a = _attrs(gemm)
    assert a.get("transB", 0) == 1 and a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0
    w, b = (model.graph.consts[name].numpy() for name in gemm.input[1:3])
    path.write_bytes(np.concatenate([w.ravel(), b.ravel()]).astype("<f4").tobytes())


def main(only: list) -> None:
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    for mid, (directory, image_set) in MODELS.items():
        if only and mid not in only:
            continue
        if not (directory / "model.onnx").exists() or not (ROOT / "tests/fixtures" / image_set).exists():
            print(f"[{mid}] missing {directory}/model.onnx or its images, skipped", flush=True)
            continue
        pixels, labels = load_images(image_set)
        model = Model(directory)
        diff = model.check_against_numpy(pixels[:64])
        assert diff < 1e-4, f"{mid}: torch graph differs from onnx_numpy by {diff}"
        classes = len(model.manifest["labels"])
        targets = (labels + 1) % classes
        clean = np.concatenate([model.predict(pixels[k:k + 100]) for k in range(0, len(pixels), 100)])
        cfgs = SETTINGS[image_set]
        fg = fgsm(model, pixels, labels, cfgs["fgsm"]["eps"], cfgs["fgsm"]["loss"])
        result = {
            "model": mid, "images": f"tests/fixtures/{image_set}/labels.json (in order)",
            "script": "tools/attack_fixtures.py", "torchVersion": torch.__version__,
            "modelSha256": hashlib.sha256((directory / "model.onnx").read_bytes()).hexdigest(),
            "clean": clean.tolist(),
            "fgsm": {**cfgs["fgsm"], "success": fg.astype(int).tolist()},
            "pgd": [],
        }
        for cfg in cfgs["pgd"]:
            ok, it = pgd(model, pixels, labels, cfg["norm"], cfg["eps"], cfg["alpha"], cfg["steps"],
                         cfg["loss"], targets if cfg["targeted"] else None)
            result["pgd"].append({**cfg, "randomStart": False, "restarts": 1,
                                  "target": "(label + 1) mod classes" if cfg["targeted"] else None,
                                  "success": ok.astype(int).tolist(), "iterations": it.tolist()})
            print(f"[{mid}] pgd {cfg['name']}: success rate {ok.mean():.3f}", flush=True)
        me = cfgs["minimalEpsilon"]
        k = me["images"]
        result["minimalEpsilon"] = {**me, "randomStart": False,
                                    "epsilon": minimal_epsilon(model, pixels[:k], labels[:k], me)}
        eps = [e for e in result["minimalEpsilon"]["epsilon"] if e is not None]
        print(f"[{mid}] clean acc {(clean == labels).mean():.3f}; fgsm success "
              f"{fg.mean(axis=0).round(3).tolist()}; minimal eps median "
              f"{np.median(eps) if eps else None} ({len(eps)}/{k} broken)", flush=True)
        (OUT / f"{mid}.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")
        if mid == "fashion-linear":
            write_linear_weights(model, OUT / "fashion-linear-weights.bin")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
