"""Write a test model whose graph has an op without a gradient rule, so the service falls back
to SPSA: a small Fashion-MNIST CNN with arctangent activations (ONNX op `Atan`).

    /usr/bin/python3 tools/make_spsa_model.py

Output: tests/fixtures/models/fashion-atan/{model.onnx,manifest.json} (trained 1 epoch).
"""

import json
import sys
from pathlib import Path

import onnx
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fashion_idx import FASHION_LABELS, load_split  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/models/fashion-atan"


class Atan(nn.Module):
    def forward(self, x):
        return torch.atan(x)


def main() -> None:
    torch.manual_seed(7)
    torch.set_num_threads(2)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), Atan(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 14 * 14, 10),
    )
    x, y = load_split("train")
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    y = torch.tensor(y, dtype=torch.int64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for start in range(0, len(x), 128):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[start:start + 128]), y[start:start + 128])
        loss.backward()
        opt.step()
    model.eval()
    xt, yt = load_split("t10k")
    xt = torch.tensor(xt, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    with torch.no_grad():
        accuracy = (model(xt).argmax(1) == torch.tensor(yt)).float().mean().item()
    OUT.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), OUT / "model.onnx", input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}}, opset_version=13,
    )
    ops = {n.op_type for n in onnx.load(OUT / "model.onnx").graph.node}
    assert "Atan" in ops, ops
    manifest = {
        "id": "fashion-atan",
        "description": "Test fixture: small CNN with Atan activations (no gradient rule), exercising the SPSA fallback.",
        "labels": FASHION_LABELS,
        "input": {"name": "input", "layout": "NCHW", "channels": 1, "height": 28, "width": 28,
                  "scale": "unit", "mean": [0], "std": [1]},
        "output": {"name": "logits", "kind": "logits"},
        "provenance": {"script": "tools/make_spsa_model.py", "epochs": 1, "testAccuracy": round(accuracy, 4)},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"fashion-atan: test accuracy {accuracy:.4f}, ops {sorted(ops)}")


if __name__ == "__main__":
    main()
