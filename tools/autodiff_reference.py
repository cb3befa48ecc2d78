"""Reference logits/loss/input-gradients by torch autograd (float64) for autodiff fixtures.

Conventions mirror src/autodiff (see docs/ARCHITECTURE.md):
  model input = (pixels * (255 if scale == "byte" else 1) - mean[c]) / std[c], NHWC if layout says so;
  z = output, or log(max(p, 1e-30)) for probability outputs;
  ce = -log_softmax(z)[y]; margin = max_{j != y} z_j - z_y (gradient to the first maximal j);
  dlr = -(z_y - z_o) / (z_pi1 - z_pi3 + 1e-12), pi = torch.sort(z, stable=True) read from the end
  (ties: higher class index first), o = pi2 if pi1 == y else pi1 (Croce & Hein 2020, AutoAttack).
"""
import numpy as np
import torch


def preprocess(pixels, spec):
    inp = spec["input"]
    s = 255.0 if inp["scale"] == "byte" else 1.0
    mean = torch.tensor(inp["mean"], dtype=pixels.dtype).view(1, -1, 1, 1)
    std = torch.tensor(inp["std"], dtype=pixels.dtype).view(1, -1, 1, 1)
    x = (pixels * s - mean) / std
    return x.permute(0, 2, 3, 1) if inp["layout"] == "NHWC" else x


def losses(z, labels, kind):
    onehot = torch.nn.functional.one_hot(labels, z.shape[1]).bool()
    if kind == "ce":
        return -torch.log_softmax(z, dim=1).gather(1, labels.view(-1, 1)).view(-1)
    if kind == "dlr":
        zs, order = z.sort(dim=1, stable=True)
        top_is_label = (order[:, -1] == labels).to(z.dtype)
        zy = z.gather(1, labels.view(-1, 1)).view(-1)
        zo = zs[:, -2] * top_is_label + zs[:, -1] * (1 - top_is_label)
        return -(zy - zo) / (zs[:, -1] - zs[:, -3] + 1e-12)
    others = z.masked_fill(onehot, float("-inf"))
    best, _ = others.max(dim=1)
    return best - z.gather(1, labels.view(-1, 1)).view(-1)


def reference(fn, pixels_np, labels_np, spec, kinds=("ce", "margin")):
    """fn: float64 torch function from the model input to the model output."""
    out = {}
    for kind in kinds:
        pixels = torch.tensor(pixels_np, dtype=torch.float64, requires_grad=True)
        y = fn(preprocess(pixels, spec))
        z = torch.log(torch.clamp(y, min=1e-30)) if spec["output"]["kind"] == "probabilities" else y
        loss = losses(z, torch.tensor(labels_np, dtype=torch.int64), kind)
        (grad,) = torch.autograd.grad(loss.sum(), pixels)
        out[kind] = {
            "logits": z.detach().numpy().astype(np.float64),
            "loss": loss.detach().numpy().astype(np.float64),
            "grad": grad.numpy().astype(np.float64),
        }
    return out
