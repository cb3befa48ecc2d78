"""Writes tests/fixtures/autodiff/ cases for exporter patterns torch.onnx does not produce, built
with onnx.helper; expected logits, loss and input gradients come from an equivalent torch function
(float64 autograd, tools/autodiff_reference.py), in the same format as tools/autodiff_fixtures.py.

Run: /usr/bin/python3 tools/exporter_fixtures.py

- avgpool_pads_incl_node: AveragePool with pads > 0 and count_include_pad = 1 in ONE node (torch
  exports a separate Pad; other exporters fold it in), symmetric and asymmetric pads.
- softmax_default_axis_opset13: Softmax without an `axis` attribute at opset 13 on rank-3 attention
  scores, where the default is −1 (before 13 it was 1).
- bn_small_var: BatchNormalization with variances ≪ 1 and a non-default epsilon, where
  1/sqrt(var + ε) differs a lot from 1/sqrt(var).
- activation_default_attrs: LeakyRelu and HardSigmoid without attributes (torch always writes
  alpha/beta), so the spec defaults 0.01 and 0.2/0.5 apply.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from autodiff_fixtures import spec_for, write_case  # noqa: E402


def tensor(a, x):
    return torch.tensor(a, dtype=x.dtype)


def model_of(nodes, name, c, h, w, classes, inits, opset):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    return model.SerializeToString()


def avgpool_case():
    rng = np.random.default_rng(15)
    w = rng.uniform(-0.5, 0.5, (2, 3, 1, 1)).astype(np.float32)
    # branch a: k3 s2 pads [1,1,1,1] on 7x7 -> 4x4; branch b: k2 s1 pads [h0=0, w0=1, h1=1, w1=0] -> 7x7
    fc = rng.uniform(-0.3, 0.3, (2 * 4 * 4 + 2 * 7 * 7, 4)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(fc, "FC")]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("AveragePool", ["c"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("AveragePool", ["c"], ["b"], kernel_shape=[2, 2], strides=[1, 1], pads=[0, 1, 1, 0],
                         count_include_pad=1),
        helper.make_node("Flatten", ["a"], ["fa"]),
        helper.make_node("Flatten", ["b"], ["fb"]),
        helper.make_node("Concat", ["fa", "fb"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "FC"], ["y"]),
    ]

    def fn(x):
        c = F.conv2d(x, tensor(w, x))
        # count_include_pad = 1: zero pads count in the divisor, i.e. a plain average of the zero-padded input
        a = F.avg_pool2d(F.pad(c, (1, 1, 1, 1)), 3, 2)
        b = F.avg_pool2d(F.pad(c, (1, 0, 0, 1)), 2, 1)
        return torch.cat([a.flatten(1), b.flatten(1)], 1) @ tensor(fc, x)
    write_case("avgpool_pads_incl_node", model_of(nodes, "avgpool_incl", 3, 7, 7, 4, inits, 13), fn,
               spec_for(3, 7, 7, inp="x", out="y"))


def softmax_case():
    rng = np.random.default_rng(16)
    wq = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    wk = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    fc = rng.uniform(-0.3, 0.3, (16 * 4, 5)).astype(np.float32)
    inits = [numpy_helper.from_array(wq, "WQ"), numpy_helper.from_array(wk, "WK"), numpy_helper.from_array(fc, "FC"),
             numpy_helper.from_array(np.array([0, 3, 16], np.int64), "tokens")]
    nodes = [
        helper.make_node("Reshape", ["x", "tokens"], ["t"]),             # [N,3,16]
        helper.make_node("Transpose", ["t"], ["tt"], perm=[0, 2, 1]),     # [N,16,3]
        helper.make_node("MatMul", ["tt", "WQ"], ["q"]),                  # [N,16,4]
        helper.make_node("MatMul", ["tt", "WK"], ["k"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),     # [N,4,16]
        helper.make_node("MatMul", ["q", "kt"], ["s"]),                   # [N,16,16] scores
        helper.make_node("Softmax", ["s"], ["p"]),                        # no axis: −1 at opset 13
        helper.make_node("MatMul", ["p", "q"], ["o"]),                    # [N,16,4]
        helper.make_node("Flatten", ["o"], ["f"]),
        helper.make_node("MatMul", ["f", "FC"], ["y"]),
    ]

    def fn(x):
        t = x.reshape(x.shape[0], 3, 16).transpose(1, 2)
        q, k = t @ tensor(wq, x), t @ tensor(wk, x)
        p = torch.softmax(q @ k.transpose(1, 2), dim=-1)
        return (p @ q).flatten(1) @ tensor(fc, x)
    write_case("softmax_default_axis_opset13", model_of(nodes, "softmax_default", 3, 4, 4, 5, inits, 13), fn,
               spec_for(3, 4, 4, inp="x", out="y"))


def batchnorm_case():
    rng = np.random.default_rng(17)
    eps = 1e-3
    w = rng.uniform(-0.5, 0.5, (4, 3, 3, 3)).astype(np.float32)
    scale = rng.uniform(0.01, 0.04, (4,)).astype(np.float32)  # keeps tanh out of saturation
    bias = rng.uniform(-0.2, 0.2, (4,)).astype(np.float32)
    mean = rng.uniform(-0.3, 0.3, (4,)).astype(np.float32)
    var = np.array([1e-5, 1e-4, 5e-4, 2e-3], np.float32)     # ≪ 1, some below ε
    fc = rng.uniform(-0.05, 0.05, (4 * 4 * 4, 5)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "W"), (scale, "S"), (bias, "B"), (mean, "M"), (var, "V"), (fc, "FC")]]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("BatchNormalization", ["c", "S", "B", "M", "V"], ["n"], epsilon=eps),
        helper.make_node("Tanh", ["n"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("MatMul", ["f", "FC"], ["y"]),
    ]

    def fn(x):
        c = F.conv2d(x, tensor(w, x))
        n = F.batch_norm(c, tensor(mean, x), tensor(var, x), tensor(scale, x), tensor(bias, x), False, 0.0, eps)
        return torch.tanh(n).flatten(1) @ tensor(fc, x)
    write_case("bn_small_var", model_of(nodes, "bn_small_var", 3, 6, 6, 5, inits, 13), fn,
               spec_for(3, 6, 6, inp="x", out="y"))


def activation_defaults_case():
    rng = np.random.default_rng(18)
    w1 = rng.uniform(-0.8, 0.8, (4, 3, 3, 3)).astype(np.float32)
    w2 = rng.uniform(-0.8, 0.8, (4, 4, 1, 1)).astype(np.float32)
    fc = rng.uniform(-0.3, 0.3, (4 * 4 * 4, 5)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2"), numpy_helper.from_array(fc, "FC")]
    nodes = [
        helper.make_node("Conv", ["x", "W1"], ["c1"]),
        helper.make_node("LeakyRelu", ["c1"], ["l"]),          # alpha defaults to 0.01
        helper.make_node("Conv", ["l", "W2"], ["c2"]),
        helper.make_node("HardSigmoid", ["c2"], ["h"]),        # alpha 0.2, beta 0.5 by default
        helper.make_node("Flatten", ["h"], ["f"]),
        helper.make_node("MatMul", ["f", "FC"], ["y"]),
    ]

    def fn(x):
        l = F.leaky_relu(F.conv2d(x, tensor(w1, x)), 0.01)
        h = torch.clamp(0.2 * F.conv2d(l, tensor(w2, x)) + 0.5, 0, 1)
        return h.flatten(1) @ tensor(fc, x)
    # Inputs centred on 0 (mean = std = 0.5) so that many Conv outputs are negative and LeakyRelu's slope matters.
    write_case("activation_default_attrs", model_of(nodes, "activation_defaults", 3, 6, 6, 5, inits, 13), fn,
               spec_for(3, 6, 6, inp="x", out="y", mean=[0.5] * 3, std=[0.5] * 3))


if __name__ == "__main__":
    avgpool_case()
    softmax_case()
    batchnorm_case()
    activation_defaults_case()
