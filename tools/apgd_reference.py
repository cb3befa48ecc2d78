"""Independent torch implementation of APGD-CE / APGD-DLR (Croce & Hein, ICML 2020, Algorithm 1)
on the shipped ONNX models; writes robust accuracies to tests/fixtures/attacks/apgd-<model>.json.

Run with Debian's interpreter (CPU, float32, deterministic; overwrites outputs; about a minute):
    /usr/bin/python3 tools/apgd_reference.py [model-id ...]   # default: every model

Written from the paper, not from src/attacks/apgd.ts; the conventions it shares with the service
are the ones src/attacks/apgd.ts documents:
- x0 = clean pixels (byte / 255, NCHW float32); an image misclassified clean counts as broken;
- x^(0) on the eps-sphere: Linf eps * t / max|t| with t ~ U[-1, 1)^d, L2 eps * z / ||z||_2 with
  z ~ N(0, I), then clipped to [0, 1] (AutoAttack's start; torch's generator, so the random
  streams differ from the service's and only the statistics are compared);
- f = -log softmax(z)[y] (ce) or -(z_y - max_{i!=y} z_i) / (z_pi1 - z_pi3 + 1e-12) (dlr, pi the
  descending order);
- eta = 2 eps; x^(1) = P(x^(0) + eta s(grad)), then z = P(x^(k) + eta s(grad)),
  x^(k+1) = P(x^(k) + 0.75 (z - x^(k)) + 0.25 (x^(k) - x^(k-1))); s = sign (Linf) or g / ||g||_2
  (L2); P = projection onto the eps-ball around x0, then clip to [0, 1];
- checkpoints w_j = ceil(p_j N), p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03,
  0.06), merged when equal, acting when 0 < w_j < N; at w_j halve eta and go back to x_max (with
  its gradient) when #{i in [w_{j-1}, w_j): f(x^(i+1)) > f(x^(i))} < rho (w_j - w_{j-1}) or (eta
  was not halved at w_{j-1} and f_max did not increase since w_{j-1}); after going back,
  f(x^(w_j)) counts as f_max;
- an image is broken when some iterate 0..N of some restart is misclassified (argmax != label);
  restarts run one after another on the images still robust.

Also records deterministic PGD (tools/attack_fixtures.py `pgd`, clean start, alpha = 2.5 eps / N)
with the same steps, for reference.
"""

import hashlib
import json
import math
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attack_fixtures import Model, load_images, pgd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/attacks"
# model id -> (model directory, image set, images used, [(norm, eps)]). Each model at its budget
# (grey 0.1, colour 8/255), an L2 budget on the robust model, and 1/255 on the colour model, which
# 8/255 leaves without a robust image.
MODELS = {
    "fashion-cnn": ("models/fashion-cnn", "fashion", 200, [("linf", 0.1)]),
    "fashion-cnn-robust": ("models/fashion-cnn-robust", "fashion", 200, [("linf", 0.1), ("l2", 1.5)]),
    "fashion-rgb": ("models/fashion-rgb", "fashion-rgb", 100, [("linf", 8 / 255), ("linf", 1 / 255)]),
}
STEPS = 20
RESTARTS = 1
RHO = 0.75
SEED = 0


def checkpoints(n):
    out, p, prev = [], Fraction(22, 100), Fraction(0)
    while math.ceil(p * n) < n:
        w = math.ceil(p * n)
        if w > 0 and (not out or out[-1] != w):
            out.append(w)
        p, prev = p + max(p - prev - Fraction(3, 100), Fraction(6, 100)), p
    return out


def losses(z, y, kind):
    if kind == "ce":
        return F.cross_entropy(z, y, reduction="none")
    zs, order = z.sort(dim=1, stable=True)
    zy = z.gather(1, y[:, None])[:, 0]
    zo = torch.where(order[:, -1] == y, zs[:, -2], zs[:, -1])
    return -(zy - zo) / (zs[:, -1] - zs[:, -3] + 1e-12)


def project(x, x0, eps, norm):
    d = x - x0
    if norm == "linf":
        d = d.clamp(-eps, eps)
    else:
        length = d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        d = d * torch.clamp(eps / length, max=1.0)
    return (x0 + d).clamp(0.0, 1.0)


def direction(g, norm):
    if norm == "linf":
        return g.sign()
    return g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


def evaluate(model, x, y, kind):
    x = x.detach().requires_grad_(True)
    z = model.logits(x)
    f = losses(z, y, kind)
    (g,) = torch.autograd.grad(f.sum(), x)
    return f.detach(), g.detach(), z.detach().argmax(dim=1) != y


def apgd_run(model, x0, y, norm, eps, steps, kind, gen):
    """One APGD run on every row; returns a per-row flag: misclassified at some iterate."""
    n = x0.shape[0]
    if norm == "linf":
        t = 2 * torch.rand(x0.shape, generator=gen) - 1
        t = t / t.flatten(1).abs().max(dim=1).values.view(-1, 1, 1, 1)
    else:
        t = torch.randn(x0.shape, generator=gen)
        t = t / t.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    x = (x0 + eps * t).clamp(0.0, 1.0)
    f, g, broken = evaluate(model, x, y, kind)
    eta = torch.full((n, 1, 1, 1), 2 * eps)
    x_prev = x.clone()
    best_x, best_g, best_f = x.clone(), g.clone(), f.clone()
    best_at_check, halved = best_f.clone(), torch.zeros(n, dtype=torch.bool)
    increases = torch.zeros(n)
    marks, last = checkpoints(steps), 0
    for k in range(steps):
        z = project(x + eta * direction(g, norm), x0, eps, norm)
        if k > 0:
            z = project(x + 0.75 * (z - x) + 0.25 * (x - x_prev), x0, eps, norm)
        x_prev, x = x, z
        f_new, g, hit = evaluate(model, x, y, kind)
        broken |= hit
        increases += (f_new > f).float()
        f = f_new
        better = f > best_f
        best_x[better], best_g[better], best_f[better] = x[better], g[better], f[better]
        if k + 1 in marks:
            w = k + 1
            halve = (increases < RHO * (w - last)) | (~halved & ~(best_f > best_at_check))
            eta[halve] /= 2
            x, g = x.clone(), g.clone()
            x[halve], g[halve], f[halve] = best_x[halve], best_g[halve], best_f[halve]
            halved, best_at_check, increases, last = halve, best_f.clone(), torch.zeros(n), w
    return broken


def apgd(model, x0, y, norm, eps, steps, kind, restarts, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        robust = model.logits(x0).argmax(dim=1) == y
    for _ in range(restarts):
        rows = robust.nonzero()[:, 0]
        if len(rows) == 0:
            break
        broken = apgd_run(model, x0[rows], y[rows], norm, eps, steps, kind, gen)
        robust[rows[broken]] = False
    return robust


def main(only):
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    for mid, (directory, image_set, count, budgets) in MODELS.items():
        if only and mid not in only:
            continue
        model = Model(ROOT / directory)
        pixels, labels = load_images(image_set)
        pixels, labels = pixels[:count], labels[:count]
        x0, y = torch.from_numpy(pixels), torch.from_numpy(labels)
        clean = model.predict(pixels) == labels
        result = {
            "model": mid, "script": "tools/apgd_reference.py", "torchVersion": torch.__version__,
            "modelSha256": hashlib.sha256((ROOT / directory / "model.onnx").read_bytes()).hexdigest(),
            "images": f"the first {count} of tests/fixtures/{image_set}/labels.json",
            "count": count, "cleanAccuracy": float(clean.mean()), "runs": [],
        }
        for norm, eps in budgets:
            alpha = 2.5 * eps / STEPS
            pgd_broken, _ = pgd(model, pixels, labels, norm, eps, alpha, STEPS, "ce")
            for kind in ("ce", "dlr"):
                robust = apgd(model, x0, y, norm, eps, STEPS, kind, RESTARTS, SEED).numpy()
                run = {"attack": f"apgd-{kind}", "loss": kind, "norm": norm, "eps": eps, "steps": STEPS,
                       "restarts": RESTARTS, "rho": RHO, "seed": SEED,
                       "robustAccuracy": float(robust.mean()), "robust": robust.astype(int).tolist(),
                       "pgd": {"alpha": alpha, "randomStart": False, "loss": "ce",
                               "robustAccuracy": float((~pgd_broken).mean())}}
                result["runs"].append(run)
                print(f"[{mid}] {norm} eps={eps:.4f} apgd-{kind}: robust {robust.mean():.3f} "
                      f"(pgd-{STEPS} {(~pgd_broken).mean():.3f}, clean {clean.mean():.3f})", flush=True)
        (OUT / f"apgd-{mid}.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
