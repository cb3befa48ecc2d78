"""Train, export and verify robustcheck's shipped models and write the image fixtures.

Run from anywhere with Debian's interpreter (CPU, all seeds fixed; overwrites outputs):
    /usr/bin/python3 tools/train_models.py [--only grey|rgb] [--threads N (default 2)]
Results are bit-reproducible for a given thread count; the committed outputs used --threads 1
with the two groups run as separate processes (the CPU was shared).

Outputs (paths relative to the repo root):
  models/fashion-cnn/            plain CNN, NCHW 1x28x28, unit scale
  models/fashion-cnn-robust/     same CNN, Madry PGD adversarial training (L-inf eps 0.1)
  models/fashion-rgb/            BN + average-pool CNN on colourised Fashion-MNIST, NHWC 32x32x3 bytes
  tests/fixtures/models/fashion-linear/   softmax regression (test fixture)
  tests/fixtures/fashion/        first 500 test images, 8-bit grey PNG + labels.json
  tests/fixtures/fashion-rgb/    first 100 colourised test images, 8-bit RGB PNG + labels.json

Pixel convention (docs/ARCHITECTURE.md): pixels p in [0,1] = byte / 255; a model input is
(p * (255 if scale == "byte" else 1) - mean[c]) / std[c], laid out as the manifest's layout.
"""

import argparse
import datetime
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colourise import MIN_CONTRAST, colourise  # noqa: E402
from fashion_idx import FASHION_DIR, FASHION_LABELS, load_split  # noqa: E402
import onnx_numpy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261122
OPSET = 13
BATCH = 128
LR = 1e-3
COLOUR_SEED_TRAIN = 1
COLOUR_SEED_TEST = 2
GREY_FIXTURES = 500
RGB_FIXTURES = 100
RGB_MEAN = [123.7, 116.3, 103.5]
RGB_STD = [58.4, 57.1, 57.4]
TRAIN_PGD = {"eps": 0.1, "alpha": 0.025, "steps": 7}
EVAL_PGD = {"eps": 0.1, "alpha": 0.01, "steps": 20}
EVAL_PGD_IMAGES = 1000
# PGD training costs ~8 forward/backward passes per batch; one pass over half the training set
# keeps the whole script within ~15 CPU minutes.
ROBUST_TRAIN_IMAGES = 30000
OPT_DECAY = f"Adam lr={LR} (lr={LR / 10} in the last epoch), batch {BATCH}, cross-entropy"
DATA_SOURCE = (
    "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), Debian package dataset-fashion-mnist, "
    f"{FASHION_DIR}/*-ubyte.gz; 60000 train / 10000 test"
)


def fashion_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
    )


CNN_SUMMARY = (
    "Conv(1->32,3x3,pad1)-ReLU-MaxPool2-Conv(32->64,3x3,pad1)-ReLU-MaxPool2-Flatten-"
    "Linear(3136->128)-ReLU-Linear(128->10)"
)

CNN_OPS = ["Conv", "Relu", "MaxPool", "Flatten", "Gemm"]


class NhwcToNchw(nn.Module):
    """Accepts NHWC input so the exported graph starts with Transpose(perm=[0,3,1,2])."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.permute(0, 3, 1, 2))


def conv_bn_relu(c_in: int, c_out: int, pool: bool) -> list:
    # count_include_pad=False only stops torch from emitting a no-op zero Pad before each
    # AveragePool (these pools have no padding, so the arithmetic is unchanged).
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return layers + ([nn.AvgPool2d(2, count_include_pad=False)] if pool else [])


def rgb_net() -> nn.Module:
    return NhwcToNchw(nn.Sequential(
        *conv_bn_relu(3, 16, pool=True), *conv_bn_relu(16, 32, pool=True),
        *conv_bn_relu(32, 64, pool=True), *conv_bn_relu(64, 64, pool=False),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    ))


RGB_SUMMARY = (
    "Transpose(NHWC->NCHW)-[Conv(3->16,3x3,pad1)-BN-ReLU-AvgPool2]-[Conv(16->32)-BN-ReLU-AvgPool2]-"
    "[Conv(32->64)-BN-ReLU-AvgPool2]-[Conv(64->64)-BN-ReLU]-GlobalAveragePool-Flatten-"
    "Linear(64->10)"
)


def linear_net() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def grey_pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 [n,28,28] -> float32 NCHW [n,1,28,28] pixels in [0,1] (= unit-scale model input)."""
    return torch.from_numpy(images).float().div(255.0).unsqueeze(1)


def rgb_inputs(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC [n,32,32,3] -> fashion-rgb model input (byte - mean[c]) / std[c], NHWC."""
    x = torch.from_numpy(images).float()
    return (x - torch.tensor(RGB_MEAN)) / torch.tensor(RGB_STD)


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float,
        steps: int, gen: torch.Generator) -> torch.Tensor:
    """Madry et al. L-inf PGD on cross-entropy in [0,1] pixel space: start at x + U(-eps, eps)
    clipped to [0,1], then `steps` times x' <- clip01(proj_eps(x' + alpha * sign(grad)))."""
    start = x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps
    adv = start.clamp(0, 1).detach()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + alpha * grad.sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1).detach()
    return adv


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, name: str,
          adversary: dict | None = None, decay_last: bool = False) -> None:
    """Adam(lr=LR), batch BATCH, reshuffled each epoch from a seeded generator; decay_last uses
    LR/10 for the final epoch. With `adversary`, every batch is replaced by its PGD adversarial
    examples (Madry min-max training)."""
    shuffle = torch.Generator().manual_seed(SEED + 1)
    attack_gen = torch.Generator().manual_seed(SEED + 2)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for epoch in range(epochs):
        t0 = time.time()
        if decay_last and epoch == epochs - 1:
            for group in opt.param_groups:
                group["lr"] = LR / 10
        model.train()
        order = torch.randperm(x.shape[0], generator=shuffle)
        total = 0.0
        for start in range(0, x.shape[0], BATCH):
            idx = order[start : start + BATCH]
            xb, yb = x[idx], y[idx]
            if adversary is not None:
                xb = pgd(model, xb, yb, gen=attack_gen, **adversary)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        print(f"[{name}] epoch {epoch + 1}/{epochs} loss {total / x.shape[0]:.4f} "
              f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + 1000]).argmax(1) for i in range(0, x.shape[0], 1000)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return round(float((predict(model, x) == y).float().mean()), 4)


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy on PGD(EVAL_PGD) adversarial examples of the given images (one random start)."""
    model.eval()
    gen = torch.Generator().manual_seed(SEED + 3)
    correct = 0
    for i in range(0, x.shape[0], 250):
        adv = pgd(model, x[i : i + 250], y[i : i + 250], gen=gen, **EVAL_PGD)
        correct += int((predict(model, adv) == y[i : i + 250]).sum())
    return round(correct / x.shape[0], 4)


def write_png_fixtures(out: Path, images: np.ndarray, labels: np.ndarray, mode: str) -> np.ndarray:
    """Write NNNN.png + labels.json; return the PNGs read back (uint8) to score models on them."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    entries = []
    for i, (img, label) in enumerate(zip(images, labels)):
        name = f"{i:04d}.png"
        Image.fromarray(img, mode=mode).save(out / name)
        entries.append({"file": name, "label": int(label)})
    lines = ",\n".join(f"  {json.dumps(e)}" for e in entries)
    (out / "labels.json").write_text(f"[\n{lines}\n]\n")
    back = np.stack([np.asarray(Image.open(out / e["file"])) for e in entries])
    if not np.array_equal(back, images):
        raise RuntimeError(f"{out}: PNG round trip changed pixels")
    return back


def export(model: nn.Module, sample: torch.Tensor, path: Path, keep_bn: bool = False) -> None:
    """ONNX opset 13, input `input`, output `logits`, dynamic batch. keep_bn exports with
    TrainingMode.PRESERVE (model in eval mode) and no folding so BatchNormalization stays an op."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    torch.onnx.export(
        model, sample, str(path), opset_version=OPSET,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=not keep_bn,
        training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
    )


def verify_onnx(model: nn.Module, sample: torch.Tensor, path: Path, expected_ops: list) -> None:
    """onnx.checker (with shape inference), I/O names/shapes, the exact op types (in order of
    first use), and numpy evaluation of the graph vs torch on `sample`."""
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    (inp,), (out,) = proto.graph.input, proto.graph.output
    in_dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert inp.name == "input" and out.name == "logits", (inp.name, out.name)
    assert in_dims == ["batch", *sample.shape[1:]], in_dims
    assert out_dims == ["batch", 10], out_dims
    ops = list(dict.fromkeys(n.op_type for n in proto.graph.node))
    assert ops == expected_ops, f"{path}: ops {ops}, expected {expected_ops}"
    with torch.no_grad():
        expected = model(sample).numpy()
    got = onnx_numpy.run(proto, {"input": sample.numpy()})["logits"]
    diff = float(np.abs(got - expected).max())
    assert diff < 1e-3, f"{path}: numpy-evaluated ONNX differs from torch by {diff}"
    print(f"[{path.parent.name}] onnx ok: ops {ops}, max |onnx - torch| = {diff:.2e}", flush=True)


def write_manifest(path: Path, manifest: dict) -> None:
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def grey_input() -> dict:
    return {"name": "input", "layout": "NCHW", "channels": 1, "height": 28, "width": 28,
            "scale": "unit", "mean": [0], "std": [1]}


def build_grey(common: dict, train_img: np.ndarray, train_lab: np.ndarray,
               test_img: np.ndarray, test_lab: np.ndarray) -> None:
    """Grey fixtures, fashion-linear, fashion-cnn and fashion-cnn-robust."""
    x_train, x_test = grey_pixels(train_img), grey_pixels(test_img)
    y_train, y_test = torch.from_numpy(train_lab), torch.from_numpy(test_lab)

    grey_fix = write_png_fixtures(ROOT / "tests/fixtures/fashion", test_img[:GREY_FIXTURES],
                                  test_lab[:GREY_FIXTURES], "L")
    x_fix, y_fix = grey_pixels(grey_fix), y_test[:GREY_FIXTURES]
    x_pgd, y_pgd = x_test[:EVAL_PGD_IMAGES], y_test[:EVAL_PGD_IMAGES]
    sample = x_test[:64]

    # fashion-linear (test fixture): softmax regression on flattened pixels.
    torch.manual_seed(SEED)
    linear = linear_net()
    train(linear, x_train, y_train, epochs=5, name="fashion-linear", decay_last=True)
    lin_dir = ROOT / "tests/fixtures/models/fashion-linear"
    export(linear, sample, lin_dir / "model.onnx")
    verify_onnx(linear, sample, lin_dir / "model.onnx", ["Flatten", "Gemm"])
    write_manifest(lin_dir / "manifest.json", {
        "id": "fashion-linear",
        "description": "Test fixture: softmax regression (one Linear 784->10 on flattened pixels).",
        "labels": FASHION_LABELS, "input": grey_input(),
        "output": {"name": "logits", "kind": "logits"},
        "provenance": {
            **common, "dataSource": DATA_SOURCE, "architecture": "Flatten-Linear(784->10)",
            "epochs": 5, "optimizer": OPT_DECAY,
            "testAccuracy": accuracy(linear, x_test, y_test),
            "fixtureAccuracy": accuracy(linear, x_fix, y_fix),
            "fixture": f"tests/fixtures/fashion (first {GREY_FIXTURES} test images)",
        },
    })

    # fashion-cnn: plain training.
    torch.manual_seed(SEED)
    cnn = fashion_cnn()
    cnn_epochs = 4
    train(cnn, x_train, y_train, epochs=cnn_epochs, name="fashion-cnn", decay_last=True)

    # fashion-cnn-robust: Madry PGD training, warm-started from the plain CNN's weights.
    robust = fashion_cnn()
    robust.load_state_dict(cnn.state_dict())
    robust_epochs = 1
    train(robust, x_train[:ROBUST_TRAIN_IMAGES], y_train[:ROBUST_TRAIN_IMAGES],
          epochs=robust_epochs, name="fashion-cnn-robust", adversary=TRAIN_PGD)

    eval_attack = {
        **EVAL_PGD, "norm": "Linf", "loss": "cross-entropy", "randomStart": "uniform(-eps,eps)",
        "restarts": 1, "images": f"first {EVAL_PGD_IMAGES} test images", "space": "[0,1] pixels",
    }
    for mid, net, extra in [
        ("fashion-cnn", cnn, {"epochs": cnn_epochs, "training": "standard (clean) training",
                              "optimizer": OPT_DECAY}),
        ("fashion-cnn-robust", robust, {
            "epochs": robust_epochs,
            "training": "Madry et al. PGD adversarial training: every batch replaced by PGD "
                        "examples (L-inf, cross-entropy, random start, pixels clipped to [0,1]); "
                        f"initialised from fashion-cnn after its {cnn_epochs} clean epochs; "
                        f"{robust_epochs} epoch over the first {ROBUST_TRAIN_IMAGES} training "
                        "images",
            "trainingAttack": {**TRAIN_PGD, "norm": "Linf", "randomStart": "uniform(-eps,eps)"},
            "optimizer": f"Adam lr={LR} (fresh optimizer), batch {BATCH}, cross-entropy",
        }),
    ]:
        out_dir = ROOT / "models" / mid
        export(net, sample, out_dir / "model.onnx")
        verify_onnx(net, sample, out_dir / "model.onnx", CNN_OPS)
        test_acc = accuracy(net, x_test, y_test)
        fix_acc = accuracy(net, x_fix, y_fix)
        robust_acc = robust_accuracy(net, x_pgd, y_pgd)
        print(f"[{mid}] test {test_acc} fixture {fix_acc} pgd20 {robust_acc}", flush=True)
        write_manifest(out_dir / "manifest.json", {
            "id": mid,
            "description": (
                "Fashion-MNIST CNN, PGD adversarially trained (L-inf eps 0.1)."
                if mid.endswith("robust") else "Fashion-MNIST CNN, standard training."
            ),
            "labels": FASHION_LABELS, "input": grey_input(),
            "output": {"name": "logits", "kind": "logits"},
            "provenance": {
                **common, "dataSource": DATA_SOURCE, "architecture": CNN_SUMMARY, **extra,
                "testAccuracy": test_acc, "fixtureAccuracy": fix_acc,
                "fixture": f"tests/fixtures/fashion (first {GREY_FIXTURES} test images)",
                "robustAccuracy": robust_acc, "robustEval": eval_attack,
            },
        })


def build_rgb(common: dict, train_img: np.ndarray, train_lab: np.ndarray,
              test_img: np.ndarray, test_lab: np.ndarray) -> None:
    """Colourised fixtures and fashion-rgb."""
    y_train, y_test = torch.from_numpy(train_lab), torch.from_numpy(test_lab)
    rgb_train = colourise(train_img, COLOUR_SEED_TRAIN)
    rgb_test = colourise(test_img, COLOUR_SEED_TEST)
    rgb_fix = write_png_fixtures(ROOT / "tests/fixtures/fashion-rgb", rgb_test[:RGB_FIXTURES],
                                 test_lab[:RGB_FIXTURES], "RGB")
    torch.manual_seed(SEED)
    rgb = rgb_net()
    rgb_epochs = 5
    train(rgb, rgb_inputs(rgb_train), y_train, epochs=rgb_epochs, name="fashion-rgb",
          decay_last=True)
    rgb_dir = ROOT / "models/fashion-rgb"
    rgb_sample = rgb_inputs(rgb_test[:64])
    export(rgb, rgb_sample, rgb_dir / "model.onnx", keep_bn=True)
    verify_onnx(rgb, rgb_sample, rgb_dir / "model.onnx",
                ["Transpose", "Conv", "BatchNormalization", "Relu", "AveragePool",
                 "GlobalAveragePool", "Flatten", "Gemm"])
    rgb_test_acc = accuracy(rgb, rgb_inputs(rgb_test), y_test)
    rgb_fix_acc = accuracy(rgb, rgb_inputs(rgb_fix), y_test[:RGB_FIXTURES])
    print(f"[fashion-rgb] test {rgb_test_acc} fixture {rgb_fix_acc}", flush=True)
    write_manifest(rgb_dir / "manifest.json", {
        "id": "fashion-rgb",
        "description": (
            "Colourised Fashion-MNIST (32x32 RGB: 28x28 garment padded 2 px, random garment and "
            "background colour per image) classifier with BatchNorm and average pooling; takes "
            "NHWC byte-scaled input normalised per channel. Exercises the NHWC/byte manifest path."
        ),
        "labels": FASHION_LABELS,
        "input": {"name": "input", "layout": "NHWC", "channels": 3, "height": 32, "width": 32,
                  "scale": "byte", "mean": RGB_MEAN, "std": RGB_STD},
        "output": {"name": "logits", "kind": "logits"},
        "provenance": {
            **common, "architecture": RGB_SUMMARY, "epochs": rgb_epochs,
            "optimizer": OPT_DECAY,
            "dataSource": DATA_SOURCE + "; colourised by tools/colourise.py",
            "colourisation": (
                "pad 28->32 with 2 px zeros; per image bg,fg ~ numpy default_rng(seed).integers("
                f"0,256,(2,3)) redrawn while mean|bg-fg| < {MIN_CONTRAST}; "
                "pixel = rint(bg*(1-v) + fg*v), v = grey/255"
            ),
            "colourSeeds": {"train": COLOUR_SEED_TRAIN, "test": COLOUR_SEED_TEST},
            "testAccuracy": rgb_test_acc, "fixtureAccuracy": rgb_fix_acc,
            "fixture": f"tests/fixtures/fashion-rgb (first {RGB_FIXTURES} colourised test images)",
        },
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # The two groups share nothing, so they can run as separate processes (or one at a time).
    parser.add_argument("--only", choices=["grey", "rgb"], help="build one group (default both)")
    # 1 thread is much faster than 2 when the CPU is shared (threads stall at barriers).
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    np.random.seed(SEED)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    common = {
        "seed": SEED, "torchVersion": torch.__version__, "onnxOpset": OPSET, "date": today,
        "script": "tools/train_models.py", "testSetSize": 10000,
        "torchThreads": args.threads,
    }

    train_img, train_lab = load_split("train")
    test_img, test_lab = load_split("t10k")
    if args.only in (None, "grey"):
        build_grey(common, train_img, train_lab, test_img, test_lab)
    if args.only in (None, "rgb"):
        build_rgb(common, train_img, train_lab, test_img, test_lab)


if __name__ == "__main__":
    main()
