"""Gradient coverage zoo: torchvision architectures at small widths and resolutions (plus a
MaxViT-like network written here, since torchvision 0.14 has no MaxViT), exported at several
opsets, some with BatchNorm left unfolded and constant folding off, each with torch autograd
references in float64. Cases go to tests/.cache/zoo/ (not committed); `deno run -A
tools/gradient_zoo.ts` derives and compares them and prints the coverage table of
docs/GRADIENTS.md.

Run: /usr/bin/python3 tools/gradient_zoo.py [name-prefix ...]
"""
import io
import json
import os
import sys

import numpy as np

import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.densenet import DenseNet
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.dirname(__file__))
from autodiff_fixtures import spec_for, upgrade, write_case  # noqa: E402
from autodiff_reference import preprocess  # noqa: E402
from maxvit_like import MaxVitLike  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "tests", ".cache", "zoo")
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])


def export(module, size, opset, fold=True, dynamic_hw=False):
    buf = io.BytesIO()
    dyn = {"input": {0: "N", 2: "H", 3: "W"} if dynamic_hw else {0: "N"}, "out": {0: "N"}}
    torch.onnx.export(module, torch.rand(1, 3, size, size), buf, opset_version=min(opset, 17), input_names=["input"],
                      output_names=["out"], dynamic_axes=dyn, do_constant_folding=fold,
                      training=torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE)
    data = buf.getvalue()
    return upgrade(data, opset) if opset > 17 else data


def randomise(module):
    """Random BatchNorm statistics, and small random values for zero-initialised parameters (ViT's
    head and class token), so that no gradient vanishes identically."""
    for p in module.parameters():
        if p.detach().abs().max() == 0:
            p.data.normal_(0, 0.2)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)


# Exported with symbolic H and W as well: the manifest's size fixes them at derivation.
DYNAMIC_HW = {"swin_tiny": 17, "resnet18": 17, "maxvit_like": 17}

# name → (constructor, input size, opsets, unfolded-export opsets)
ZOO = {
    "resnet18": (lambda: tvm.resnet18(num_classes=10), 32, [9, 13, 17], [13]),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(width_mult=0.35, num_classes=10), 32, [9, 13, 17], [13]),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(width_mult=0.5, num_classes=10), 32, [13, 17], [17]),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(num_classes=10), 32, [13, 17], []),
    "shufflenet_v2": (lambda: tvm.shufflenet_v2_x0_5(num_classes=10), 32, [11, 13, 17], [13]),
    "squeezenet1_1": (lambda: tvm.squeezenet1_1(num_classes=10), 48, [9, 13, 17], []),
    "mnasnet0_5": (lambda: tvm.mnasnet0_5(num_classes=10), 32, [13, 17], []),
    "densenet_small": (lambda: DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, num_classes=10), 32,
                       [9, 13, 17], [13]),
    "googlenet": (lambda: tvm.googlenet(num_classes=10, aux_logits=False, init_weights=True), 32, [13, 17], []),
    "inception_v3": (lambda: tvm.inception_v3(num_classes=10, aux_logits=False, init_weights=True), 75, [13], []),
    "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(num_classes=10), 32, [13, 17], []),
    "convnext_small": (lambda: ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10), 32,
                       [13, 17, 18], [17]),
    "vit_tiny": (lambda: VisionTransformer(32, 8, 2, 2, 32, 64, num_classes=10), 32, [13, 17, 18], []),
    "swin_tiny": (lambda: SwinTransformer([4, 4], 16, [2, 2], [2, 2], [4, 4], num_classes=10), 32, [13, 17, 18], [13]),
    # torchvision's Swin-T layout (4 stages, window 7) at 224 px, narrow: masks of 64 windows × 49².
    "swin_w7_224": (lambda: SwinTransformer([4, 4], 24, [2, 2, 2, 2], [2, 2, 4, 4], [7, 7], num_classes=10), 224, [17],
                    []),
    # torchvision's swin_t itself (28 M parameters, random weights), at its native 224 px.
    "swin_t_224": (lambda: tvm.swin_t(num_classes=10), 224, [17], []),
    "swin_padded": (lambda: SwinTransformer([4, 4], 16, [2, 2], [2, 2], [4, 4], num_classes=10), 40, [13, 17], []),
    "maxvit_like": (lambda: MaxVitLike(), 32, [13, 17, 18], [13]),
}


def main(prefixes):
    for name, (make, size, opsets, unfolded) in ZOO.items():
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        torch.manual_seed(0)
        net = make().eval()
        randomise(net)
        spec = spec_for(3, size, size, inp="input", out="out", **IMAGENET)
        ref = make().double().eval()
        ref.load_state_dict(net.state_dict())
        variants = [(o, True, False) for o in opsets] + [(o, False, False) for o in unfolded]
        if name in DYNAMIC_HW:
            variants.append((DYNAMIC_HW[name], True, True))
        for opset, fold, dynamic_hw in variants:
            case = f"{name}_opset{opset}" + ("" if fold else "_unfolded") + ("_dynamic_hw" if dynamic_hw else "")
            try:
                data = export(net, size, opset, fold, dynamic_hw)
            except Exception as e:  # an exporter limitation is a finding too
                print(f"{case}: export failed: {str(e).splitlines()[0]}")
                continue
            write_case(case, data, ref, spec, batch=2, big=True, where=OUT)
            write_float32_reference(case, net, spec)


def write_float32_reference(case, net, spec):
    """Cross-entropy input gradient by torch autograd in float32 on the same pixels: where float32
    rounding flips a ReLU or a max (random weights have many near-kinks), the derived gradient
    follows float32, so agreement with this reference tells rounding from a wrong rule."""
    meta = json.load(open(os.path.join(OUT, f"{case}.json")))
    pixels = np.fromfile(os.path.join(OUT, f"{case}.pixels.bin"), dtype="<f4").reshape(meta["arrays"]["pixels"])
    x = torch.tensor(pixels, requires_grad=True)
    logits = net(preprocess(x, spec))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(meta["labels"]), reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    grad.numpy().astype("<f4").tofile(os.path.join(OUT, f"{case}.ce.grad_f32.bin"))


if __name__ == "__main__":
    main(sys.argv[1:])
