"""Writes tests/fixtures/autodiff/: tiny ONNX models (one per op family / attribute variant) and
expected logits, per-row loss and input gradients from torch autograd (float64).

Run: /usr/bin/python3 tools/autodiff_fixtures.py [group ...]   (groups: see __main__; "whole" writes
MobileNetV2 (width 0.35) and the full ResNet-18 with their torch gradients).

Per case: <name>.onnx and <name>.json = {spec, batch, opset, pixels, labels, expected:{ce,margin}}.
Whole-network cases store arrays in <name>.<array>.bin (float32 little-endian) instead.
"""
import io
import json
import os
import sys
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from autodiff_reference import reference  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "autodiff")


def spec_for(c, h, w, layout="NCHW", scale="unit", mean=None, std=None, kind="logits", inp="input", out="out"):
    return {
        "input": {"name": inp, "layout": layout, "channels": c, "height": h, "width": w, "scale": scale,
                  "mean": mean or [0.0] * c, "std": std or [1.0] * c},
        "output": {"name": out, "kind": kind},
    }


def export(module, spec, opset, batch_dynamic=True, fold_bn=True):
    module.eval()
    i = spec["input"]
    shape = (1, i["channels"], i["height"], i["width"]) if i["layout"] == "NCHW" else (1, i["height"], i["width"], i["channels"])
    buf = io.BytesIO()
    dyn = {i["name"]: {0: "N"}, spec["output"]["name"]: {0: "N"}} if batch_dynamic else None
    torch.onnx.export(module, torch.zeros(shape), buf, opset_version=opset, input_names=[i["name"]],
                      output_names=[spec["output"]["name"]], dynamic_axes=dyn, do_constant_folding=fold_bn,
                      training=torch.onnx.TrainingMode.EVAL if fold_bn else torch.onnx.TrainingMode.PRESERVE)
    return buf.getvalue()


def r32(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def write_case(name, onnx_bytes, fn, spec, batch=2, pixels=None, labels=None, classes=None, big=False, where=OUT):
    os.makedirs(where, exist_ok=True)
    i = spec["input"]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if pixels is None:
        pixels = rng.random((batch, i["channels"], i["height"], i["width"]), dtype=np.float32)
    with torch.no_grad():
        probe = fn(torch.zeros((1, i["channels"], i["height"], i["width"]), dtype=torch.float64)
                   .permute(0, 2, 3, 1) if i["layout"] == "NHWC" else torch.zeros((1, i["channels"], i["height"], i["width"]), dtype=torch.float64))
    k = classes or probe.shape[1]
    if labels is None:
        labels = rng.integers(0, k, size=batch)
    exp = reference(fn, pixels.astype(np.float64), labels, spec)
    model = onnx.load_from_string(onnx_bytes)
    if max(o.version for o in model.opset_import) <= onnx.defs.onnx_opset_version():
        onnx.checker.check_model(model)
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    with open(os.path.join(where, f"{name}.onnx"), "wb") as f:
        f.write(onnx_bytes)
    meta = {"spec": spec, "batch": batch, "opset": opset, "labels": [int(v) for v in labels]}
    if big:
        arrays = {"pixels": pixels}
        for kind, vals in exp.items():
            for key, v in vals.items():
                arrays[f"{kind}.{key}"] = v
        for key, v in arrays.items():
            np.asarray(v, dtype="<f4").tofile(os.path.join(where, f"{name}.{key}.bin"))
        meta["arrays"] = {key: list(np.shape(v)) for key, v in arrays.items()}
    else:
        meta["pixels"] = r32(pixels)
        meta["expected"] = {kind: {key: r32(v) for key, v in vals.items()} for kind, vals in exp.items()}
    with open(os.path.join(where, f"{name}.json"), "w") as f:
        json.dump(meta, f)
    print(f"{name}: opset {opset}, {len(onnx_bytes)} bytes")


def torch_case(name, module, spec, opset, **kw):
    torch.manual_seed(zlib.crc32(name.encode()) % (2**31))
    for p in module.parameters():
        p.data.uniform_(-0.5, 0.5)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    module.eval()
    export_opset = kw.pop("export_opset", opset)
    data = export(module, spec, export_opset, batch_dynamic=kw.pop("dynamic", True))
    if export_opset != opset:
        data = upgrade(data, opset)
    ref = module.double()
    write_case(name, data, ref, spec, **kw)


class Seq(nn.Module):
    """Feature extractor then Flatten + Linear to `classes` logits."""

    def __init__(self, features, flat, classes=5):
        super().__init__()
        self.features = features
        self.head = nn.Linear(flat, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class Lambda(nn.Module):
    def __init__(self, fn, **params):
        super().__init__()
        for k, v in params.items():
            setattr(self, k, v)
        self.fn = fn

    def forward(self, x):
        return self.fn(self, x)


def flat_size(features, c, h, w):
    with torch.no_grad():
        return features.eval()(torch.zeros(1, c, h, w)).numel()


def seq_case(name, features, c=3, h=8, w=8, opset=13, classes=5, **kw):
    spec = kw.pop("spec", spec_for(c, h, w))
    torch_case(name, Seq(features, flat_size(features, c, h, w), classes), spec, opset, **kw)


def cnn_cases():
    seq_case("conv_basic", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()))
    seq_case("conv_strided_odd", nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU()), h=9, w=9)
    seq_case("conv_asym", nn.Sequential(nn.Conv2d(3, 4, (3, 2), stride=(2, 3), padding=(1, 0), dilation=(2, 1))), h=11, w=10)
    seq_case("conv_depthwise", nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, groups=3), nn.ReLU(), nn.Conv2d(6, 6, 3, groups=6, stride=2)))
    seq_case("gemm_mlp", nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh()))
    seq_case("bn_relu", nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1)))
    seq_case("maxpool_overlap_ceil", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)), h=10, w=10)
    seq_case("maxpool_plain", nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2)), h=9, w=9)
    seq_case("maxpool_dilated", nn.Sequential(nn.MaxPool2d(2, stride=1, dilation=2)), h=7, w=7)
    # Quantized pixels straight into MaxPool: many exact ties inside windows.
    rng = np.random.default_rng(7)
    tied = (rng.integers(0, 3, size=(2, 1, 8, 8)) / 2).astype(np.float32)
    seq_case("maxpool_ties", nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(1, 2, 2)), c=1, pixels=tied)
    seq_case("avgpool_pad_incl", nn.Sequential(nn.Conv2d(3, 4, 1), nn.AvgPool2d(3, 2, padding=1, count_include_pad=True)), h=9, w=9)
    seq_case("avgpool_pad_excl_ceil", nn.Sequential(nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)), h=10, w=10)
    seq_case("avgpool_ceil_incl", nn.Sequential(nn.AvgPool2d(2, 2, ceil_mode=True)), h=9, w=9)
    seq_case("global_pools_opset9", Lambda(lambda s, x: torch.cat([F.adaptive_avg_pool2d(s.conv(x), 1), F.adaptive_max_pool2d(s.conv(x), 1)], 1), conv=nn.Conv2d(3, 4, 3)), opset=9)
    seq_case("global_pools", Lambda(lambda s, x: torch.cat([F.adaptive_avg_pool2d(s.conv(x), 1), F.adaptive_max_pool2d(s.conv(x), 1)], 1), conv=nn.Conv2d(3, 4, 3)))


def activation_cases():
    seq_case("act_rectifiers", nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.1), nn.Conv2d(4, 4, 1), nn.PReLU(4), nn.Conv2d(4, 4, 1), nn.ReLU6()))
    seq_case("act_clip_opset9", nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU6(), nn.Conv2d(4, 4, 1), nn.Hardtanh(-0.3, 0.4)), opset=9)
    seq_case("act_smooth", nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sigmoid(), nn.Conv2d(4, 4, 1), nn.Tanh(), nn.Conv2d(4, 4, 1), nn.Hardsigmoid(), nn.Conv2d(4, 4, 1), nn.Hardswish()), opset=14)
    seq_case("act_exp_log_pow", Lambda(lambda s, x: torch.log(torch.exp(-s.conv(x) ** 2) + torch.sqrt(s.conv(x).pow(2) + 1.0)) + s.conv(x).pow(3) / 4, conv=nn.Conv2d(3, 4, 3)))


def arithmetic_cases():
    def se(s, x):
        y = s.conv(x)
        w = torch.sigmoid(y.mean(dim=(2, 3), keepdim=True))
        z = y * w - y.sum(dim=1, keepdim=True) / (w + 2.0)
        return z + s.bias
    seq_case("broadcast_se", Lambda(se, conv=nn.Conv2d(3, 4, 3), bias=nn.Parameter(torch.zeros(4, 1, 1))))

    def mm(s, x):
        n = x.shape[0]
        t = x.reshape(n, 3, 64) @ s.w1          # [N,3,5]  batched MatMul, weight broadcast
        u = s.w2 @ t                            # [3,5] x? -> broadcast left operand
        return u.transpose(1, 2).reshape(n, -1)
    seq_case("matmul_batched", Lambda(mm, w1=nn.Parameter(torch.zeros(64, 5)), w2=nn.Parameter(torch.zeros(4, 3))))

    def shapes(s, x):
        a, b = torch.split(s.conv(x), [1, 3], dim=1)
        c = torch.cat([b[:, :, 1:, :-1], F.pad(a[:, :, 1:, 1:], (0, 0, 0, 0))], dim=1)
        d = F.pad(c, (1, 2, 0, 1))
        e = d.permute(0, 2, 3, 1).unsqueeze(1).squeeze(1)
        return F.softmax(e, dim=-1).permute(0, 3, 1, 2) * 3 + F.log_softmax(d, dim=1)
    seq_case("layout_ops", Lambda(shapes, conv=nn.Conv2d(3, 4, 3)))


def layer_norm_cases():
    """LayerNorm over channels (NHWC view) + GELU: decomposed at opset 13, LayerNormalization at 17."""
    def ln(s, x):
        y = s.conv(x).permute(0, 2, 3, 1)
        return F.gelu(s.norm(y)).permute(0, 3, 1, 2)
    for opset in (13, 17):
        seq_case(f"layernorm_gelu_opset{opset}", Lambda(ln, conv=nn.Conv2d(3, 4, 3), norm=nn.LayerNorm(4)), opset=opset)


class TinyViT(nn.Module):
    """Patch embedding, class token, one pre-norm attention + GELU MLP block, class-token head."""

    def __init__(self, dim=8, heads=2, classes=5):
        super().__init__()
        self.heads = heads
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 5, dim))
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)                        # [N, 4, dim]
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], dim=1) + self.pos
        n, s, d = t.shape
        q, k, v = self.qkv(self.norm1(t)).reshape(n, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        t = t + self.proj((att @ v).transpose(1, 2).reshape(n, s, d))
        t = t + self.mlp(self.norm2(t))
        return self.head(self.norm3(t)[:, 0])


def vit_cases():
    for opset in (13, 17):
        torch_case(f"tiny_vit_opset{opset}", TinyViT(), spec_for(3, 8, 8), opset)


def head_cases():
    feats = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    torch_case("softmax_probs", ProbHead(Seq(feats, flat_size(feats, 3, 8, 8))), spec_for(3, 8, 8, kind="probabilities"), 13)
    # Atan and Sin have no gradient rule: the "unsupported" example (two nodes, two op types).
    seq_case("trig_unsupported", Lambda(lambda s, x: torch.sin(torch.atan(s.conv(x))), conv=nn.Conv2d(3, 4, 3)))
    # reserved names: the original input/output are called "pixels"/"logits".
    seq_case("reserved_names", nn.Sequential(nn.Conv2d(3, 2, 3)), spec=spec_for(3, 8, 8, inp="pixels", out="logits", scale="byte", mean=[120.0, 110.0, 100.0], std=[60.0, 58.0, 57.0]))


def helper_case(name, nodes, inits, c, h, w, classes, opset, fn, extra_inputs=()):
    """onnx.helper model x [N,c,h,w] → nodes → y [N,classes] (`nodes` end in "feat", then a
    flatten + MatMul head); `fn` is the float64 torch reference of the features."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    with torch.no_grad():
        flat = fn(torch.zeros(1, c, h, w, dtype=torch.float64)).numel()
    fc = rng.uniform(-0.3, 0.3, (flat, classes)).astype(np.float32)
    inits = inits + [numpy_helper.from_array(fc, "FC"), numpy_helper.from_array(np.array([0, -1], np.int64), "flat2")]
    nodes = nodes + [helper.make_node("Reshape", ["feat", "flat2"], ["f"]), helper.make_node("MatMul", ["f", "FC"], ["y"])]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10 if opset >= 21 else 9 if opset >= 19 else 8
    write_case(name, model.SerializeToString(), lambda x: fn(x).flatten(1) @ torch.tensor(fc, dtype=x.dtype),
               spec_for(c, h, w, inp="x", out="y"))


def coverage_cases():
    """Rules added for issue 12, one small case per op family and opset."""
    conv = lambda: nn.Conv2d(3, 4, 3)  # noqa: E731
    for opset in (10, 13):  # steps > 1 and negative steps (flip)
        seq_case(f"slice_steps_opset{opset}", Lambda(lambda s, x: torch.cat(
            [s.conv(x)[:, :, ::2, 1::3].flatten(1), s.conv(x).flip(3)[:, :, 1:, ::2].flatten(1)], 1), conv=conv()), opset=opset)
    for opset in (9, 11, 13, 18):
        seq_case(f"pad_modes_opset{opset}", Lambda(lambda s, x: torch.cat(
            [F.pad(s.conv(x), (2, 1, 3, 0), mode="reflect").flatten(1),
             F.pad(s.conv(x), (1, 3, 0, 2), mode="replicate").flatten(1)], 1), conv=conv()),
                 opset=opset, **({"export_opset": 17} if opset == 18 else {}))
    for opset in (9, 10, 11, 13):
        seq_case(f"resize_nearest_opset{opset}", Lambda(lambda s, x: F.interpolate(s.conv(x), scale_factor=2, mode="nearest"),
                                                        conv=conv()), opset=opset)
    for opset in (11, 13):
        seq_case(f"resize_linear_opset{opset}", Lambda(lambda s, x: torch.cat([
            F.interpolate(s.conv(x), scale_factor=2, mode="bilinear", align_corners=False).flatten(1),
            F.interpolate(s.conv(x), size=(5, 4), mode="bilinear", align_corners=True).flatten(1),
            F.interpolate(s.conv(x), size=(4, 3), mode="bilinear", align_corners=False).flatten(1),
            F.interpolate(s.conv(x), size=(9, 5), mode="nearest").flatten(1)], 1), conv=conv()), opset=opset)
    tf_resize_case()
    for opset in (12, 13, 17):
        seq_case(f"einsum_opset{opset}", Lambda(einsum_features, conv=conv(), w=nn.Parameter(torch.zeros(4, 5))), opset=opset)
    idx = torch.tensor([[2, 0, 0], [5, 1, 3]])
    for opset in (11, 13):
        seq_case(f"gather_pixels_opset{opset}", Lambda(lambda s, x: s.conv(x)[:, :, idx].flatten(1), conv=conv()), opset=opset)
    # Constant indices need a fixed batch (an exported Expand to the batch would be computed).
    perm = torch.tensor(np.random.default_rng(3).permutation(36)).reshape(1, 1, 36).expand(1, 4, 36).contiguous()
    rep = torch.tensor(np.random.default_rng(4).integers(0, 6, (1, 4, 6, 6)))
    seq_case("gather_elements_opset13", Lambda(lambda s, x: s.conv(x).flatten(2).gather(2, perm), conv=conv()),
             opset=13, dynamic=False, batch=1)
    seq_case("gather_elements_opset16", Lambda(lambda s, x: s.conv(x).gather(3, rep), conv=conv()),
             opset=16, dynamic=False, batch=1)
    for opset in (9, 13):
        seq_case(f"tile_opset{opset}", Lambda(lambda s, x: s.conv(x).repeat(1, 2, 1, 3), conv=conv()), opset=opset)
    depth_space_case(13, "depth_space")
    depth_space_case(11, "depth_space_opset11")
    for opset in (9, 13):
        seq_case(f"instance_norm_opset{opset}", nn.Sequential(nn.Conv2d(3, 4, 3), nn.InstanceNorm2d(4, affine=True),
                                                             nn.GroupNorm(2, 4)), opset=opset)
    group_norm_cases()
    gelu_mish_cases()
    for opset in (11, 13, 18):
        seq_case(f"reduce_extrema_l2_opset{opset}", Lambda(lambda s, x: torch.cat([
            s.conv(x).amax(dim=(2, 3)), s.conv(x).amin(dim=1).flatten(1),
            torch.linalg.vector_norm(s.conv(x), 2, dim=3).flatten(1), s.conv(x).max(dim=2).values.flatten(1)], 1),
            conv=conv()), opset=opset, **({"export_opset": 17} if opset == 18 else {}))
    for opset in (12, 13):
        seq_case(f"act_exponential_opset{opset}", nn.Sequential(nn.Conv2d(3, 4, 3), nn.Softplus(), nn.Conv2d(4, 4, 1), nn.SELU(),
                                                      nn.Conv2d(4, 4, 1), nn.ELU(0.7), nn.Conv2d(4, 4, 1), nn.CELU(1.3),
                                                      nn.Conv2d(4, 4, 1), nn.Mish()), opset=opset)
    for opset in (11, 13):
        seq_case(f"cumsum_opset{opset}", Lambda(lambda s, x: torch.cumsum(s.conv(x), dim=3) + torch.cumsum(s.conv(x).flip(2), 2),
                                                conv=conv()), opset=opset)
    variadic_case(13, "minmax_variadic")
    variadic_case(9, "minmax_variadic_opset9")
    seq_case("no_gradient_branches", Lambda(no_gradient_branches, conv=conv()), opset=13)
    for opset in (10, 11):  # TopK's backward: Scatter at 10, ScatterElements from 11
        seq_case(f"no_gradient_branches_opset{opset}", Lambda(no_gradient_branches, conv=conv()), opset=opset)
    seq_case("activation_masks", Lambda(lambda s, x: torch.where((s.conv(x) > 0) & ~(s.conv(x) >= 0.4), s.conv(x), 0.1 * s.conv(x))
                                        + (s.conv(x) < -0.1).float(), conv=conv()), opset=13)


def einsum_features(s, x):
    y = s.conv(x)                                            # [N,4,6,6]
    att = torch.einsum("b c i j, b c k j -> b c i k", y, y)   # batched matmul, both operands active
    t = torch.einsum("bcij->bjci", y)                        # transpose-like
    w = torch.einsum("bchw,cd->bdhw", y, s.w)                # contraction with a weight
    total = torch.einsum("bchw->bc", y)                      # summed-out letters: Expand in the backward
    return torch.cat([att.flatten(1), t.flatten(1), w.flatten(1), total], 1)


def no_gradient_branches(s, x):
    """ArgMax / TopK indices / Floor / Sign branches feed the logits but carry no gradient."""
    y = s.conv(x)
    values, where = y.flatten(2).topk(3, dim=2)
    code = (y.argmax(dim=1, keepdim=True).float() + where.float().sum(2, keepdim=True).unsqueeze(3)) / 10
    return torch.cat([(values * 2).flatten(1), (y + torch.floor(y * 3) + torch.sign(y) + code).flatten(1)], 1)


def tf_resize_case():
    """TF-style Resize attributes (onnx.helper, opset 18): half_pixel linear; tf_half_pixel_for_nn
    and asymmetric nearest with round_prefer_ceil; a downsampling half_pixel linear to given sizes
    of the `axes` H, W."""
    rng = np.random.default_rng(13)
    w = rng.uniform(-0.5, 0.5, (2, 3, 3, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.array([], np.float32), "noroi"),
             numpy_helper.from_array(np.array([1, 1, 2, 1.5], np.float32), "up"),
             numpy_helper.from_array(np.array([3, 4], np.int64), "down"),
             numpy_helper.from_array(np.array([0, -1], np.int64), "flat")]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),   # 8x8 -> 6x6
             helper.make_node("Resize", ["c", "noroi", "up"], ["a"], mode="linear", coordinate_transformation_mode="half_pixel"),
             helper.make_node("Resize", ["c", "noroi", "up"], ["b"], mode="nearest",
                              coordinate_transformation_mode="tf_half_pixel_for_nn", nearest_mode="round_prefer_ceil"),
             helper.make_node("Resize", ["c", "noroi", "", "down"], ["d"], mode="linear", coordinate_transformation_mode="half_pixel",
                              axes=[2, 3]),
             helper.make_node("Resize", ["c", "noroi", "up"], ["e"], mode="nearest", coordinate_transformation_mode="asymmetric",
                              nearest_mode="round_prefer_ceil")]
    nodes += [helper.make_node("Reshape", [t, "flat"], [f"{t}f"]) for t in "abde"]
    nodes.append(helper.make_node("Concat", [f"{t}f" for t in "abde"], ["feat"], axis=1))

    def axis_matrix(n_in, n_out, scale, transform, mode, rounding=None):
        m = np.zeros((n_out, n_in))
        for j in range(n_out):
            xo = transform(j, scale)
            if mode == "nearest":
                k = int(min(n_in - 1, max(0, rounding(xo))))
                m[j, k] = 1
            else:
                xc = min(n_in - 1, max(0.0, xo))
                k0 = int(np.floor(xc))
                k1 = min(k0 + 1, n_in - 1)
                m[j, k0] += 1 - (xc - k0)
                m[j, k1] += xc - k0
        return m

    half = lambda j, s: (j + 0.5) / s - 0.5  # noqa: E731
    ceil_round = lambda v: np.floor(v + 0.5)  # noqa: E731
    mats = {
        "a": (axis_matrix(6, 12, 2, half, "linear"), axis_matrix(6, 9, 1.5, half, "linear")),
        "b": (axis_matrix(6, 12, 2, lambda j, s: (j + 0.5) / s, "nearest", ceil_round),
              axis_matrix(6, 9, 1.5, lambda j, s: (j + 0.5) / s, "nearest", ceil_round)),
        "d": (axis_matrix(6, 3, 0.5, half, "linear"), axis_matrix(6, 4, 4 / 6, half, "linear")),
        "e": (axis_matrix(6, 12, 2, lambda j, s: j / s, "nearest", ceil_round),
              axis_matrix(6, 9, 1.5, lambda j, s: j / s, "nearest", ceil_round)),
    }

    def fn(x):
        c = F.conv2d(x, torch.tensor(w, dtype=x.dtype))
        outs = [torch.einsum("oh,nchw,pw->ncop", torch.tensor(mh), c, torch.tensor(mw)).flatten(1) for mh, mw in mats.values()]
        return torch.cat(outs, 1)
    helper_case("resize_tf_modes", nodes, inits, 3, 8, 8, 4, 18, fn)


def depth_space_case(opset, name):
    """DepthToSpace DCR and CRD (mode attribute from opset 11), SpaceToDepth (onnx.helper)."""
    rng = np.random.default_rng(17)
    w = rng.uniform(-0.5, 0.5, (8, 3, 3, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.array([0, -1], np.int64), "flat")]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),  # [N,8,6,6]
             helper.make_node("DepthToSpace", ["c"], ["dcr"], blocksize=2, mode="DCR"),
             helper.make_node("DepthToSpace", ["c"], ["crd"], blocksize=2, mode="CRD"),
             helper.make_node("SpaceToDepth", ["c"], ["s2d"], blocksize=3)]
    nodes += [helper.make_node("Reshape", [t, "flat"], [f"{t}f"]) for t in ("dcr", "crd", "s2d")]
    nodes.append(helper.make_node("Concat", ["dcrf", "crdf", "s2df"], ["feat"], axis=1))

    def fn(x):
        c = F.conv2d(x, torch.tensor(w, dtype=x.dtype))
        n = c.shape[0]
        dcr = c.reshape(n, 2, 2, 2, 6, 6).permute(0, 3, 4, 1, 5, 2).reshape(n, 2, 12, 12)
        crd = F.pixel_shuffle(c, 2)
        s2d = c.reshape(n, 8, 2, 3, 2, 3).permute(0, 3, 5, 1, 2, 4).reshape(n, 72, 2, 2)
        return torch.cat([dcr.flatten(1), crd.flatten(1), s2d.flatten(1)], 1)
    helper_case(name, nodes, inits, 3, 8, 8, 4, opset, fn)


def group_norm_cases():
    """GroupNormalization: scale/bias per group at opset 18, per channel at 21."""
    for opset in (18, 21):
        rng = np.random.default_rng(opset)
        w = rng.uniform(-0.5, 0.5, (6, 3, 3, 3)).astype(np.float32)
        n = 3 if opset == 18 else 6
        scale = rng.uniform(0.5, 1.5, (n,)).astype(np.float32)
        bias = rng.uniform(-0.5, 0.5, (n,)).astype(np.float32)
        inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(scale, "S"), numpy_helper.from_array(bias, "B")]
        nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),
                 helper.make_node("GroupNormalization", ["c", "S", "B"], ["feat"], num_groups=3, epsilon=1e-3)]

        def fn(x, scale=scale, bias=bias, w=w, opset=opset):
            c = F.conv2d(x, torch.tensor(w, dtype=x.dtype))
            if opset >= 21:
                return F.group_norm(c, 3, torch.tensor(scale, dtype=x.dtype), torch.tensor(bias, dtype=x.dtype), eps=1e-3)
            g = F.group_norm(c, 3, eps=1e-3).reshape(c.shape[0], 3, -1)
            return (g * torch.tensor(scale, dtype=x.dtype).view(1, 3, 1) + torch.tensor(bias, dtype=x.dtype).view(1, 3, 1))
        helper_case(f"group_norm_opset{opset}", nodes, inits, 3, 8, 8, 4, opset, fn)


def gelu_mish_cases():
    """Gelu (opset 20, both approximations) and Mish (opset 18) as single ops."""
    rng = np.random.default_rng(20)
    w = rng.uniform(-0.5, 0.5, (4, 3, 3, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W")]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),
             helper.make_node("Gelu", ["c"], ["g1"]),
             helper.make_node("Gelu", ["c"], ["g2"], approximate="tanh"),
             helper.make_node("Mish", ["c"], ["m"]),
             helper.make_node("Concat", ["g1", "g2", "m"], ["feat"], axis=1)]

    def fn(x):
        c = F.conv2d(x, torch.tensor(w, dtype=x.dtype))
        return torch.cat([F.gelu(c), F.gelu(c, approximate="tanh"), F.mish(c)], 1)
    helper_case("gelu_mish_opset20", nodes, inits, 3, 8, 8, 4, 20, fn)


def variadic_case(opset, name):
    """Max/Min with three inputs and broadcasting, Sum and Mean (onnx.helper)."""
    rng = np.random.default_rng(21)
    w = rng.uniform(-0.5, 0.5, (4, 3, 3, 3)).astype(np.float32)
    v = rng.uniform(-0.5, 0.5, (4, 1, 1)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(v, "V"),
             numpy_helper.from_array(np.array([0, -1], np.int64), "flat")]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),
             helper.make_node("ReduceMean", ["c"], ["m"], axes=[3], keepdims=1),
             helper.make_node("Neg", ["c"], ["nc"]),
             helper.make_node("Max", ["c", "nc", "V"], ["mx"]),
             helper.make_node("Min", ["c", "m", "V"], ["mn"]),
             helper.make_node("Sum", ["c", "m", "nc"], ["sm"]),
             helper.make_node("Mean", ["mx", "mn"], ["me"]),
             helper.make_node("Concat", ["mx", "mn", "sm", "me"], ["feat"], axis=1)]

    def fn(x):
        c = F.conv2d(x, torch.tensor(w, dtype=x.dtype))
        m, vv = c.mean(3, keepdim=True), torch.tensor(v, dtype=x.dtype)
        mx = torch.maximum(torch.maximum(c, -c), vv)
        mn = torch.minimum(torch.minimum(c, m), vv)
        return torch.cat([mx, mn, c + m - c.mean(3, keepdim=True) * 0 - c, (mx + mn) / 2], 1)
    helper_case(name, nodes, inits, 3, 8, 8, 4, opset, fn)


def small_transformer_cases():
    """Committed Swin-like and MaxViT-like networks (tiny widths, 32-40 px) so that CI checks the
    folded shape arithmetic, strided Slices, computed Pads and Einsum end to end."""
    from maxvit_like import MaxVitLike
    from torchvision.models.swin_transformer import SwinTransformer
    imagenet = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    cases = [("swin_like_opset13", lambda: SwinTransformer([4, 4], 16, [2, 2], [2, 2], [4, 4], num_classes=5), 40, 13, True),
             ("swin_like_opset17_unfolded", lambda: SwinTransformer([4, 4], 16, [2, 2], [2, 2], [4, 4], num_classes=5), 32, 17, False),
             ("maxvit_like_opset13", lambda: MaxVitLike(classes=5), 32, 13, True),
             ("maxvit_like_opset17_unfolded", lambda: MaxVitLike(classes=5), 32, 17, False)]
    for name, make, size, opset, fold in cases:
        torch.manual_seed(0)
        net = make().eval()
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        spec = spec_for(3, size, size, **imagenet)
        ref = make().double().eval()
        ref.load_state_dict(net.state_dict())
        write_case(name, export(net, spec, opset, fold_bn=fold), ref, spec, big=True)


class ProbHead(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.softmax(self.inner(x), dim=1)


def opset9_case():
    feats = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU6(), nn.MaxPool2d(3, 2, padding=1),
                          nn.ZeroPad2d((1, 0, 0, 1)), nn.AvgPool2d(2))
    spec = spec_for(3, 12, 12, scale="byte", mean=[123.7, 116.3, 103.5], std=[58.4, 57.1, 57.4])
    torch_case("old_opset9", ProbHead(Seq(feats, flat_size(feats, 3, 12, 12), 6)), dict(spec, output={"name": "out", "kind": "probabilities"}), 9)
    seq_case("old_opset10_slice", Lambda(lambda s, x: s.conv(x)[:, :, 1:-1, 2:], conv=nn.Conv2d(3, 3, 3)), opset=10)


def tf_like_case():
    """tf2onnx-style op mix, NHWC input, built with onnx.helper; reference re-implemented in torch."""
    rng = np.random.default_rng(11)
    w = rng.uniform(-0.5, 0.5, (4, 3, 3, 3)).astype(np.float32)
    wb = rng.uniform(-0.5, 0.5, (4,)).astype(np.float32)
    # 8x8 -> Pad 10x10 -> Conv SAME_UPPER s2 -> 5x5 -> MaxPool SAME_LOWER k2 s1 -> 5x5; flat 5*5*4 = 100.
    fc = rng.uniform(-0.2, 0.2, (100, 5)).astype(np.float32)
    fb = rng.uniform(-0.2, 0.2, (5,)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(wb, "WB"), numpy_helper.from_array(fc, "FC"),
             numpy_helper.from_array(fb, "FB"), numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
             numpy_helper.from_array(np.array([-1, 100], np.int64), "flat"), numpy_helper.from_array(np.array([1], np.int64), "ax1")]
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Pad", ["nchw", "pads"], ["padded"], mode="constant"),
        helper.make_node("Conv", ["padded", "W", "WB"], ["conv"], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_LOWER"),
        helper.make_node("Transpose", ["pool"], ["nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["nhwc", "flat"], ["flatv"]),
        helper.make_node("MatMul", ["flatv", "FC"], ["mm"]),
        helper.make_node("Add", ["mm", "FB"], ["biased"]),
        helper.make_node("Unsqueeze", ["biased", "ax1"], ["u"]),
        helper.make_node("Squeeze", ["u", "ax1"], ["Identity:0"]),
    ]
    graph = helper.make_graph(nodes, "tf_like", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["unk__1", 8, 8, 3])],
                              [helper.make_tensor_value_info("Identity:0", TensorProto.FLOAT, ["unk__1", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx-like")
    model.ir_version = 7

    def fn(x):  # x: NHWC float64
        t = F.pad(x.permute(0, 3, 1, 2), (1, 1, 1, 1))
        # SAME_UPPER k3 s2 on 10: out 5, total pad 4*2+3-10 = 1 -> begin 0, end 1
        t = F.conv2d(F.pad(t, (0, 1, 0, 1)), torch.tensor(w, dtype=x.dtype), torch.tensor(wb, dtype=x.dtype), stride=2)
        # SAME_LOWER k2 s1 on 5: total pad 1 -> begin 1, end 0 (max pads with -inf)
        t = F.max_pool2d(F.pad(torch.relu(t), (1, 0, 1, 0), value=float("-inf")), 2, 1)
        t = t.permute(0, 2, 3, 1).reshape(-1, 100)
        return t @ torch.tensor(fc, dtype=x.dtype) + torch.tensor(fb, dtype=x.dtype)
    spec = spec_for(3, 8, 8, layout="NHWC", scale="byte", mean=[127.5] * 3, std=[127.5] * 3, inp="image", out="Identity:0")
    write_case("tf_like_nhwc", model.SerializeToString(), fn, spec)


def misc_case():
    """Opset 11 via onnx.helper: Dropout, Cast, coerced-2D LogSoftmax, Gemm transA/alpha/beta, Identity."""
    rng = np.random.default_rng(9)
    bmat = rng.uniform(-0.5, 0.5, (48, 5)).astype(np.float32)
    cvec = rng.uniform(-0.5, 0.5, (1, 5)).astype(np.float32)
    inits = [numpy_helper.from_array(bmat, "B"), numpy_helper.from_array(cvec, "C")]
    nodes = [
        helper.make_node("Dropout", ["x"], ["dx"], ratio=0.3),
        helper.make_node("Cast", ["dx"], ["cx"], to=TensorProto.FLOAT),
        helper.make_node("LogSoftmax", ["cx"], ["ls"], axis=1),   # opset < 13: softmax over C*H*W
        helper.make_node("Flatten", ["ls"], ["f"]),
        helper.make_node("Transpose", ["f"], ["ft"], perm=[1, 0]),
        helper.make_node("Gemm", ["ft", "B", "C"], ["g"], transA=1, alpha=0.7, beta=0.3),
        helper.make_node("Identity", ["g"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "misc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6

    def fn(x):
        ls = torch.log_softmax(x.flatten(1), dim=1)
        return 0.7 * ls @ torch.tensor(bmat, dtype=x.dtype) + 0.3 * torch.tensor(cvec, dtype=x.dtype)
    write_case("misc_opset11", model.SerializeToString(), fn, spec_for(3, 4, 4, inp="x", out="y"))


def autopad_case():
    rng = np.random.default_rng(5)
    w = rng.uniform(-0.5, 0.5, (2, 3, 3, 3)).astype(np.float32)
    fc = rng.uniform(-0.3, 0.3, (2 * 4 * 4 + 2 * 3 * 3, 4)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(fc, "FC")]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["a"], strides=[2, 2], auto_pad="SAME_LOWER"),   # 7 -> 4
        helper.make_node("AveragePool", ["a"], ["ap"], kernel_shape=[2, 2], auto_pad="SAME_UPPER"),  # 4 -> 4
        helper.make_node("Conv", ["x", "W"], ["v"], strides=[2, 2], auto_pad="VALID"),        # 7 -> 3
        helper.make_node("Flatten", ["ap"], ["f1"]),
        helper.make_node("Flatten", ["v"], ["f2"]),
        helper.make_node("Concat", ["f1", "f2"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "FC"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "autopad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 7, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8

    def fn(x):
        wt = torch.tensor(w, dtype=x.dtype)
        # SAME_LOWER s2 k3 on 7: out 4, total = 3*2+3-7 = 2 -> begin 1, end 1
        a = F.conv2d(F.pad(x, (1, 1, 1, 1)), wt, stride=2)
        # AveragePool SAME_UPPER k2 s1 on 4: total 1 -> begin 0, end 1; count_include_pad=0
        ap = F.avg_pool2d(F.pad(a, (0, 1, 0, 1)), 2, 1) * 4 / F.avg_pool2d(F.pad(torch.ones_like(a), (0, 1, 0, 1)), 2, 1) / 4
        v = F.conv2d(x, wt, stride=2)
        f = torch.cat([ap.flatten(1), v.flatten(1)], 1)
        return f @ torch.tensor(fc, dtype=x.dtype)
    write_case("autopad_variants", model.SerializeToString(), fn, spec_for(3, 7, 7, inp="x", out="y"))


def conv_flip_cases():
    """Stride-1 Convs whose backward is a plain Conv with the flipped kernel (asymmetric pads,
    dilation, groups, depthwise, 1x1, auto_pad), and ones that keep ConvTranspose."""
    def build(name, c, h, w, convs, classes, seed):
        rng = np.random.default_rng(seed)
        inits, nodes, prev, params = [], [], "x", []
        for i, (shape, attrs, bias) in enumerate(convs):
            wt = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
            bt = rng.uniform(-0.5, 0.5, (shape[0],)).astype(np.float32) if bias else None
            inits.append(numpy_helper.from_array(wt, f"W{i}"))
            ins = [prev, f"W{i}"]
            if bt is not None:
                inits.append(numpy_helper.from_array(bt, f"B{i}"))
                ins.append(f"B{i}")
            nodes.append(helper.make_node("Conv", ins, [f"c{i}"], **attrs))
            nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
            prev = f"r{i}"
            params.append((wt, bt, attrs))

        def features(x):
            for wt, bt, attrs in params:
                k = wt.shape[2:]
                d = attrs.get("dilations", [1, 1])
                if attrs.get("auto_pad") == "SAME_UPPER":  # stride 1: total d*(K-1), odd half at the end
                    t = [d[j] * (k[j] - 1) for j in range(2)]
                    pads = [t[0] // 2, t[1] // 2, t[0] - t[0] // 2, t[1] - t[1] // 2]
                else:
                    pads = attrs.get("pads", [0, 0, 0, 0])
                x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
                b = None if bt is None else torch.tensor(bt, dtype=x.dtype)
                x = torch.relu(F.conv2d(x, torch.tensor(wt, dtype=x.dtype), b, dilation=d, groups=attrs.get("group", 1)))
            return x

        with torch.no_grad():
            flat = features(torch.zeros(1, c, h, w, dtype=torch.float64)).numel()
        fc = rng.uniform(-0.2, 0.2, (flat, classes)).astype(np.float32)
        inits.append(numpy_helper.from_array(fc, "FC"))
        nodes += [helper.make_node("Flatten", [prev], ["f"]), helper.make_node("MatMul", ["f", "FC"], ["y"])]
        graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, h, w])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        write_case(name, model.SerializeToString(), lambda x: features(x).flatten(1) @ torch.tensor(fc, dtype=x.dtype),
                   spec_for(c, h, w, inp="x", out="y"))

    # ONNX pads = [h_begin, w_begin, h_end, w_end]; the first Conv maps 9x8 to 8x9, the rest keep it.
    build("conv_flip_chain", 3, 9, 8, [
        ((4, 3, 3, 3), dict(pads=[0, 2, 1, 1]), True),                       # asymmetric pads
        ((4, 4, 3, 2), dict(pads=[3, 1, 1, 0], dilations=[2, 1]), False),    # dilation, p' = [1,0,3,1]
        ((6, 2, 2, 2), dict(auto_pad="SAME_UPPER", group=2), True),          # even kernel, groups
        ((6, 1, 3, 3), dict(pads=[2, 1, 2, 3], dilations=[2, 2], group=6), False),  # dilated depthwise
        ((5, 6, 1, 1), {}, True),                                            # 1x1
    ], 4, 21)
    # ConvTranspose kept: pads beyond d*(K-1) (p' < 0), and far fewer input than output channels.
    build("conv_flip_fallback", 3, 6, 6, [
        ((4, 3, 1, 1), dict(pads=[1, 0, 0, 2]), True),
        ((4, 4, 3, 3), dict(pads=[3, 1, 0, 2]), False),
        ((2, 4, 3, 3), dict(pads=[1, 1, 1, 1]), True),                       # flips
        ((20, 2, 3, 3), dict(pads=[1, 1, 1, 1]), True),
    ], 3, 22)


class Sweep(nn.Module):
    """One net touching the ops whose signatures changed across opsets 9-21."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 3 * 3, 5)

    def forward(self, x):
        y = self.bn(F.relu6(self.conv(x)))
        y = F.max_pool2d(y, 3, 2, padding=1)                       # 8 -> 4, overlapping windows
        y = y * torch.sigmoid(y.mean(dim=(2, 3), keepdim=True))
        y = F.pad(y, (1, 0, 0, 1))[:, :, 1:, :]                     # 4 -> 4x5
        y = F.avg_pool2d(y, 2, (1, 2), ceil_mode=True)             # -> 3x3
        y = torch.softmax(y, dim=1) * 2 + y
        return self.fc(torch.flatten(y.unsqueeze(1).squeeze(1), 1))


def upgrade(onnx_bytes, opset):
    """Opset-17 model -> `opset` (18-21): Reduce* (except ReduceSum) take axes as an input from 18."""
    m = onnx.load_from_string(onnx_bytes)
    for node in m.graph.node:
        if node.op_type.startswith("Reduce") and node.op_type != "ReduceSum":
            axes = [a for a in node.attribute if a.name == "axes"]
            if axes:
                name = f"{node.name or node.output[0]}_axes"
                m.graph.initializer.append(numpy_helper.from_array(np.array(axes[0].ints, np.int64), name))
                node.input.append(name)
                node.attribute.remove(axes[0])
    m.opset_import[0].version = opset
    m.ir_version = 10 if opset >= 21 else 9 if opset >= 19 else 8
    return m.SerializeToString()


def opset_sweep():
    torch.manual_seed(3)
    net = Sweep()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    net.eval()
    spec = spec_for(3, 8, 8, mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.3])
    ref = Sweep().double()
    ref.load_state_dict(net.state_dict())
    ref.eval()
    for opset in range(9, 18):
        write_case(f"sweep_opset{opset}", export(net, spec, opset), ref, spec)
    latest = export(net, spec, 17)
    for opset in range(18, 22):
        write_case(f"sweep_opset{opset}", upgrade(latest, opset), ref, spec)


def speed_cases():
    """Cheaper backward formulations: pools whose windows tile the input (ties, remainders, opset 9)
    and strided Convs taken through the sub-pixel (DepthToSpace) form."""
    rng = np.random.default_rng(12)
    tied = (rng.integers(0, 3, size=(2, 1, 8, 8)) / 2).astype(np.float32)
    # Pixels straight into 2x2/2 windows: many windows hold two or more equal maxima.
    seq_case("maxpool_tiles_ties", nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(1, 2, 2)), c=1, pixels=tied)
    seq_case("maxpool_tiles_ties_opset9", nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(1, 2, 2)), c=1, pixels=tied, opset=9)
    # Relu straight into MaxPool (the Relu mask moves to the pooled size): a 1x1 Conv of quantized
    # pixels ties windows at positive values and at zero, tiled, overlapping and at opset 9.
    relu_pool = lambda pool: nn.Sequential(nn.Conv2d(1, 4, 1), nn.ReLU(), pool, nn.Conv2d(4, 2, 2))
    seq_case("relu_maxpool_tiles_ties", relu_pool(nn.MaxPool2d(2)), c=1, pixels=tied)
    seq_case("relu_maxpool_overlap_ties", relu_pool(nn.MaxPool2d(3, 1, padding=1)), c=1, pixels=tied)
    seq_case("relu_maxpool_ties_opset9", relu_pool(nn.MaxPool2d(2)), c=1, pixels=tied, opset=9)
    # 3x3/3 windows on 9x10 after a 3x3 Conv (7x8): one row and two columns beyond the last window.
    seq_case("maxpool_tiles_remainder", nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(3)), h=9, w=10)
    seq_case("avgpool_tiles", nn.Sequential(nn.Conv2d(3, 4, 3), nn.AvgPool2d(2), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.AvgPool2d(1),
                                            nn.AvgPool2d((2, 1))), h=9, w=10)
    seq_case("conv_strided_mix", nn.Sequential(
        nn.Conv2d(3, 8, 7, stride=2, padding=3), nn.ReLU(),            # ResNet stem: 17 -> 9
        nn.Conv2d(8, 6, 1, stride=2), nn.ReLU(),                        # downsample 1x1: 9 -> 5
        nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=3), nn.ReLU(),   # grouped 3x3: 5 -> 3
        nn.Conv2d(6, 4, 2, stride=2, padding=1)), h=17, w=17)           # even kernel, K = s: 3 -> 2
    # Strided depthwise Convs (MobileNet/EfficientNet downsampling) in every geometry the zero-insertion
    # form must cut or pad: 3x3/2 pad 1 and pad 0, 4x4/2, 5x5/3, strides (2, 1), and a channel
    # multiplier of 2 (not depthwise in the one-channel-per-group sense: stays ConvTranspose).
    seq_case("depthwise_strided_mix", nn.Sequential(
        nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3), nn.ReLU6(),     # multiplier 2: 17 -> 9
        nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6), nn.ReLU6(),     # 9 -> 5
        nn.Conv2d(6, 6, 3, stride=2, groups=6), nn.ReLU(),                 # pad 0: 5 -> 2
        nn.Conv2d(6, 6, 1), nn.Upsample(scale_factor=5),                   # 2 -> 10
        nn.Conv2d(6, 6, 4, stride=2, padding=1, groups=6), nn.ReLU(),      # even kernel: 10 -> 5
        nn.Conv2d(6, 6, 5, stride=3, padding=2, groups=6),                 # 5 -> 2
        nn.Conv2d(6, 6, 3, stride=(2, 1), padding=1, groups=6)), h=17, w=17)  # 2x2 -> 1x2
    # Below opset 11 (no Resize with scales) the strided depthwise Conv keeps ConvTranspose.
    seq_case("depthwise_strided_opset9", nn.Sequential(nn.Conv2d(3, 3, 3, stride=2, padding=1, groups=3), nn.ReLU6()),
             h=9, w=9, opset=9)
    seq_case("conv_strided_patchify", nn.Sequential(nn.Conv2d(3, 4, 4, stride=4), nn.ReLU(),
                                                    nn.Conv2d(4, 4, 3, stride=3, padding=2, groups=4)), h=18, w=18)
    seq_case("conv_strided_opset9", nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                                                  nn.Conv2d(4, 4, 3, stride=2, groups=2)), h=11, w=11, opset=9)


def whole_models():
    import torchvision
    torch.manual_seed(0)
    mnet = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=10).eval()
    spec = spec_for(3, 64, 64, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    write_case("mobilenet_v2_w035", export(mnet, spec, 13), mnet.double(), spec, big=True)
    torch.manual_seed(0)
    rn = torchvision.models.resnet18(num_classes=1000).eval()
    spec = spec_for(3, 224, 224, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    # BatchNormalization kept (not folded into Conv): the ONNX weights are then exactly torch's, so
    # no ReLU flips from rounded folded weights blur the comparison. Committed (47 MB, under the
    # project's 50 MB bound) so that CI checks a full-size network without Python.
    write_case("resnet18", export(rn, spec, 17, fold_bn=False), rn.double(), spec, batch=1, big=True)


if __name__ == "__main__":
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    groups = {"cnn": cnn_cases, "act": activation_cases, "arith": arithmetic_cases, "head": head_cases,
              "old": opset9_case, "tf": tf_like_case, "autopad": autopad_case, "sweep": opset_sweep,
              "misc": misc_case, "ln": layer_norm_cases, "convflip": conv_flip_cases,
              "vit": vit_cases, "coverage": coverage_cases, "transformers": small_transformer_cases,
              "speed": speed_cases}
    for key, fn in groups.items():
        if not only or key in only:
            fn()
    if not only or "whole" in only:
        whole_models()
