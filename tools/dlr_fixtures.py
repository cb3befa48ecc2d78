"""Writes tests/fixtures/autodiff/dlr_*.{onnx,json}: the DLR loss (Croce & Hein 2020) of the derived
gradient graph against torch autograd (float64), at every opset 9-21, with tied logits and with a
probability output; plus dlr_two_classes.onnx, which the derivation must refuse.

Run: /usr/bin/python3 tools/dlr_fixtures.py

Per case: <name>.onnx and <name>.json = {spec, batch, opset, pixels, labels, expected: {dlr: {logits,
loss, grad}}} (the layout of tools/autodiff_fixtures.py, with the dlr loss only). The loss and its
tie convention are defined in tools/autodiff_reference.py.
"""
import copy
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from autodiff_fixtures import OUT, ProbHead, export, r32, spec_for, upgrade  # noqa: E402
from autodiff_reference import reference  # noqa: E402


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4, classes)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def make(name, classes, tie_rows=()):
    torch.manual_seed(zlib.crc32(name.encode()) % (2**31))
    net = Net(classes)
    for p in net.parameters():
        p.data.uniform_(-0.5, 0.5)
    # Copying a head row makes two logits equal bit for bit (in float32 and float64 alike).
    for src, dst in tie_rows:
        net.fc.weight.data[dst] = net.fc.weight.data[src]
        net.fc.bias.data[dst] = net.fc.bias.data[src]
    return net.eval()


def write(name, onnx_bytes, fn, spec, labels, batch, pixels=None):
    i = spec["input"]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if pixels is None:
        pixels = rng.random((batch, i["channels"], i["height"], i["width"]), dtype=np.float32)
    exp = reference(fn, pixels.astype(np.float64), np.array(labels), spec, kinds=("dlr",))
    opset = onnx_opset(onnx_bytes)
    with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
        f.write(onnx_bytes)
    meta = {"spec": spec, "batch": batch, "opset": opset, "labels": [int(v) for v in labels],
            "pixels": r32(pixels),
            "expected": {kind: {key: r32(v) for key, v in vals.items()} for kind, vals in exp.items()}}
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(meta, f)
    print(f"{name}: opset {opset}, dlr {np.round(exp['dlr']['loss'], 3).tolist()}")


def onnx_opset(onnx_bytes):
    import onnx
    m = onnx.load_from_string(onnx_bytes)
    return [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0]


def main():
    spec = spec_for(3, 6, 6, mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.3])
    labels = [0, 3, 5, 2]
    net = make("dlr_sweep", 6)
    ref = make("dlr_sweep", 6).double()
    for opset in range(9, 18):
        write(f"dlr_opset{opset}", export(net, spec, opset), ref, spec, labels, 4)
    latest = export(net, spec, 17)
    for opset in range(18, 22):
        write(f"dlr_opset{opset}", upgrade(latest, opset), ref, spec, labels, 4)
    # Ties: z_k = x_k + x_5 / 2 (k < 5) on dyadic pixels, so equal logits are equal bit for bit
    # but have different input gradients: which tied class ranks first shows in the gradient.
    pick = nn.Linear(6, 5)
    pick.weight.data = torch.cat([torch.eye(5), torch.full((5, 1), 0.5)], dim=1)
    pick.bias.data.zero_()
    head = nn.Sequential(nn.Flatten(), pick).eval()
    spec_ties = spec_for(1, 2, 3)
    rows = [[0.5, 0.5, 0.25, 0.5, 0.125, 0.75],    # three-way tie at the top
            [0.5, 0.5, 0.25, 0.5, 0.125, 0.75],
            [0.75, 0.25, 0.25, 0.25, 0.5, 0.0],    # tie at pi3
            [0.25, 0.75, 0.75, 0.125, 0.75, 0.5],  # top tie, label outside it
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.25]]       # all equal
    tie_pixels = np.array(rows, dtype=np.float32).reshape(5, 1, 2, 3)
    ref_head = copy.deepcopy(head).double()
    write("dlr_ties", export(head, spec_ties, 13), ref_head, spec_ties, [1, 2, 2, 0, 3], 5, tie_pixels)
    probs = ProbHead(make("dlr_probs", 4))
    write("dlr_probs", export(probs, spec_for(3, 6, 6, kind="probabilities"), 13), ProbHead(make("dlr_probs", 4)).double(),
          spec_for(3, 6, 6, kind="probabilities"), [0, 1, 2, 3], 4)
    # Two classes: no third logit, the derivation must refuse DLR (only the model is needed).
    with open(os.path.join(OUT, "dlr_two_classes.onnx"), "wb") as f:
        f.write(export(make("dlr_two_classes", 2), spec_for(3, 6, 6), 13))


if __name__ == "__main__":
    main()
