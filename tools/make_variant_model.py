"""Write a test model that takes the manifest paths the shipped models do not: a fixed batch of 1
(as many TensorFlow exports have), NHWC input, byte scale with mean/std, an old opset (11), and a
Softmax at the end (output kind "probabilities").

    /usr/bin/python3 tools/make_variant_model.py

Output: tests/fixtures/models/fashion-nhwc-prob/{model.onnx,manifest.json} (trained 1 epoch).
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
OUT = ROOT / "tests/fixtures/models/fashion-nhwc-prob"
MEAN, STD = 72.9, 90.0


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body(x.permute(0, 3, 1, 2)), dim=1)


def inputs(images) -> torch.Tensor:
    return (torch.tensor(images, dtype=torch.float32)[..., None] - MEAN) / STD  # NHWC, byte scale


def main() -> None:
    torch.manual_seed(11)
    torch.set_num_threads(2)
    model = Net()
    x, y = load_split("train")
    x, y = inputs(x), torch.tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for start in range(0, len(x), 128):
        opt.zero_grad()
        p = model(x[start:start + 128])
        loss = nn.functional.nll_loss(torch.log(p.clamp_min(1e-30)), y[start:start + 128])
        loss.backward()
        opt.step()
    model.eval()
    xt, yt = load_split("t10k")
    with torch.no_grad():
        accuracy = (model(inputs(xt)).argmax(1) == torch.tensor(yt)).float().mean().item()
    OUT.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 28, 28, 1), OUT / "model.onnx", input_names=["image"],
                      output_names=["probs"], opset_version=11)
    graph = onnx.load(OUT / "model.onnx").graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 28, 28, 1]
    manifest = {
        "id": "fashion-nhwc-prob",
        "description": "Test fixture: fixed batch 1, NHWC, byte scale, opset 11, softmax output.",
        "labels": FASHION_LABELS,
        "input": {"name": "image", "layout": "NHWC", "channels": 1, "height": 28, "width": 28,
                  "scale": "byte", "mean": [MEAN], "std": [STD]},
        "output": {"name": "probs", "kind": "probabilities"},
        "provenance": {"script": "tools/make_variant_model.py", "epochs": 1, "opset": 11,
                       "testAccuracy": round(accuracy, 4),
                       "ops": sorted({n.op_type for n in graph.node})},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"fashion-nhwc-prob: test accuracy {accuracy:.4f}, ops {manifest['provenance']['ops']}")


if __name__ == "__main__":
    main()
