"""PyTorch-eager side of bench/audit.ts: the audit plan FGSM + PGD-10 L-inf at 3 eps + minimal eps,
run on the same images batched the same way (shards of `shard` images; every stage runs the whole
shard through the model at once and finished rows leave the batch), timed in this process.

  /usr/bin/python3 tools/bench_audit_torch.py <model dir> <image dir> <n> <shard> <threads>

prints one JSON line {"images": n, "seconds": s, "imagesPerSecond": r}. The work mirrors
src/audit/shard.ts with this plan: clean logits (twice, as the determinism probe does), FGSM at
each eps in one batch, PGD (10 steps, random start, alpha = 2.5 eps / 10, early stop per row) per
eps, and the minimal-eps bisection (PGD 10 steps at `high`, then 8 bisection rounds on the rows
still unbroken). Numbers need not equal robustcheck's bit for bit; the rows through the model do.
"""

import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from bench_torch import OnnxModule, linf_step, load_pixels  # noqa: E402

EPS = [0.05, 0.1, 0.25]
STEPS = 10
HIGH = 0.5
BISECTION = 8


def grad_logits(model, x, y):
    x = x.detach().requires_grad_(True)
    logits = model(x)
    (g,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), x)
    return g, logits.detach()


def pgd_batch(model, x0, y, eps, gen):
    """Batched untargeted PGD, rows leave when they succeed; returns a success mask."""
    eps_t = eps.view(-1, 1, 1, 1) if torch.is_tensor(eps) else torch.full((len(y), 1, 1, 1), eps)
    alpha = 2.5 * eps_t / STEPS
    x = (x0 + (torch.rand(x0.shape, generator=gen) * 2 - 1) * eps_t).clamp(0, 1)
    success = torch.zeros(len(y), dtype=torch.bool)
    active = torch.arange(len(y))
    for t in range(STEPS + 1):
        if len(active) == 0:
            break
        xa = x[active]
        if t < STEPS:
            g, logits = grad_logits(model, xa, y[active])
        else:
            with torch.no_grad():
                logits = model(xa)
        hit = logits.argmax(1) != y[active]
        success[active[hit]] = True
        keep = ~hit
        if t < STEPS:
            x[active[keep]] = linf_step(xa[keep], g[keep], x0[active[keep]], eps_t[active[keep]], alpha[active[keep]])
        active = active[keep]
    return success


def shard(model, x, y, gen):
    with torch.no_grad():
        model(x)
        model(x)
    g, _ = grad_logits(model, x, y)
    with torch.no_grad():
        model(torch.cat([(x + e * g.sign()).clamp(0, 1) for e in EPS]))
    for e in EPS:
        pgd_batch(model, x, y, e, gen)
    # Minimal eps: PGD at HIGH, then bisection on the rows it broke.
    broken = pgd_batch(model, x, y, HIGH, gen)
    rows = torch.nonzero(broken).flatten()
    low = torch.zeros(len(rows))
    high = torch.full((len(rows),), HIGH)
    for _ in range(BISECTION):
        if len(rows) == 0:
            break
        mid = (low + high) / 2
        ok = pgd_batch(model, x[rows], y[rows], mid, gen)
        high = torch.where(ok, mid, high)
        low = torch.where(ok, low, mid)


def main() -> None:
    model_dir, image_dir, n, size, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    manifest = json.loads(Path(model_dir, "manifest.json").read_text())
    model = OnnxModule(str(Path(model_dir, "model.onnx")))
    labels = {}
    for line in Path(image_dir, "labels.csv").read_text().splitlines()[1:]:
        name, label = line.rsplit(",", 1)
        labels[name] = manifest["labels"].index(label)
    names = sorted(labels)[:n]
    channels = manifest["input"]["channels"]
    x = torch.cat([load_pixels(str(Path(image_dir, name)), channels) for name in names])
    y = torch.tensor([labels[name] for name in names])
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for a in range(0, len(names), size):
        shard(model, x[a:a + size], y[a:a + size], gen)
    seconds = time.perf_counter() - start
    print(json.dumps({"images": len(names), "seconds": seconds, "imagesPerSecond": len(names) / seconds}))


if __name__ == "__main__":
    main()
