"""Export the benchmark-only ImageNet models (torchvision ResNet-18 and MobileNetV2, random
seeded weights) to ONNX with a robustcheck manifest, for `deno task bench`.

Usage: /usr/bin/python3 tools/export_bench_models.py OUT_DIR
Writes OUT_DIR/<id>/model.onnx + manifest.json for id in resnet18, mobilenet_v2. Random weights
are enough: the benchmark measures time, not accuracy, and pretrained weights would need a
download. Exported like tools/train_models.py: opset 13, input `input`, output `logits`, dynamic
batch, eval mode (BatchNorm folded into Conv by constant folding, as a deployed model would be).
"""

import json
import sys
from pathlib import Path

import torch
import torchvision

SEED = 20261122
OPSET = 13
IMAGENET_INPUT = {
    "name": "input", "layout": "NCHW", "channels": 3, "height": 224, "width": 224,
    "scale": "unit", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
}
MODELS = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
}


def export(model_id: str, out: Path) -> None:
    torch.manual_seed(SEED)
    model = MODELS[model_id](weights=None).eval()
    sample = torch.rand(2, 3, 224, 224)
    folder = out / model_id
    folder.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, sample, str(folder / "model.onnx"), opset_version=OPSET,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL,
    )
    manifest = {
        "id": f"bench-{model_id.replace('_', '')}",
        "description": f"Benchmark only: torchvision {model_id} with random weights (seed {SEED}).",
        "labels": [f"class-{i}" for i in range(1000)],
        "input": IMAGENET_INPUT,
        "output": {"name": "logits", "kind": "logits"},
        "provenance": {
            "seed": SEED, "torchVersion": torch.__version__,
            "torchvisionVersion": torchvision.__version__, "onnxOpset": OPSET,
            "script": "tools/export_bench_models.py",
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"exported {folder}", flush=True)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: export_bench_models.py OUT_DIR")
    torch.set_num_threads(2)
    for model_id in MODELS:
        export(model_id, Path(sys.argv[1]))


if __name__ == "__main__":
    main()
