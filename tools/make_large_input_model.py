"""Write a test model whose input is "large" for the check profiles (above 64×64 pixels): the
shipped fashion-rgb classifier behind a 3×3 average pool, so it takes 96×96 NHWC byte input.

    /usr/bin/python3 tools/make_large_input_model.py

The pool sits after the model's NHWC→NCHW Transpose and before its first Conv; the manifest's
per-channel mean/std commute with it, so on an image nearest-upscaled 3× (each pixel a 3×3 block)
the model computes fashion-rgb's logits of the original 32×32 image. No weights are new or retrained.

Output: tests/fixtures/models/fashion-rgb-96/{model.onnx,manifest.json}.
"""

import json
from pathlib import Path

import onnx
from onnx import helper

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "models/fashion-rgb"
OUT = ROOT / "tests/fixtures/models/fashion-rgb-96"
FACTOR = 3


def main() -> None:
    model = onnx.load(str(SOURCE / "model.onnx"))
    graph = model.graph
    [transpose] = [n for n in graph.node if n.op_type == "Transpose"]
    [nchw] = transpose.output
    pooled = f"{nchw}_pooled"
    pool = helper.make_node("AveragePool", [nchw], [pooled], kernel_shape=[FACTOR, FACTOR],
                            strides=[FACTOR, FACTOR], name="downsample_3x")
    for node in graph.node:
        if node is not transpose:
            for i, name in enumerate(node.input):
                if name == nchw:
                    node.input[i] = pooled
    graph.node.insert(list(graph.node).index(transpose) + 1, pool)
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_value = 32 * FACTOR
    dims[2].dim_value = 32 * FACTOR
    del graph.value_info[:]
    onnx.checker.check_model(model)
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(OUT / "model.onnx"))

    manifest = json.loads((SOURCE / "manifest.json").read_text())
    source_provenance = manifest["provenance"]
    manifest = {
        "id": "fashion-rgb-96",
        "description": "Test fixture: the shipped fashion-rgb classifier behind a 3x3 average pool (96x96 RGB "
        "input), a large input for the check profiles.",
        "labels": manifest["labels"],
        "input": {**manifest["input"], "height": 32 * FACTOR, "width": 32 * FACTOR},
        "output": manifest["output"],
        "provenance": {
            "script": "tools/make_large_input_model.py",
            "source": "models/fashion-rgb (" + source_provenance["script"] + ")",
            "testAccuracy": source_provenance["testAccuracy"],
        },
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
