"""Minimal float32 numpy evaluator for the few ONNX ops the shipped models use.

onnx 1.12 has no reference runtime and onnxruntime is not installable for Debian's python, so
this checks an exported graph independently of torch. Ops follow the ONNX operator spec
(opset 13); unsupported attributes raise instead of being silently ignored.
"""

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _windows(x: np.ndarray, kernel: list, strides: list) -> np.ndarray:
    """[N,C,H,W] -> [N,C,OH,OW,kh,kw] strided windows (no padding)."""
    win = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(2, 3))
    return win[:, :, :: strides[0], :: strides[1]]


def _check_2d(a: dict, node: onnx.NodeProto) -> None:
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError(f"{node.op_type}: auto_pad")
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError(f"{node.op_type}: dilations")


def _conv(x, w, b, a, node):
    _check_2d(a, node)
    if a.get("group", 1) != 1:
        raise NotImplementedError("Conv: group")
    p = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    win = _windows(x, list(w.shape[2:]), a.get("strides", [1, 1]))
    y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return y + (b.reshape(1, -1, 1, 1) if b is not None else 0)


def _pool(x, a, node, reduce):
    _check_2d(a, node)
    if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0):
        raise NotImplementedError(f"{node.op_type}: pads/ceil_mode")
    k = a["kernel_shape"]
    return reduce(_windows(x, k, a.get("strides", [1, 1])), axis=(4, 5))


def run(model: onnx.ModelProto, feeds: dict) -> dict:
    """Evaluate the graph on `feeds` (name -> array); returns every graph output by name."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        i = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            out = _conv(i[0], i[1], i[2] if len(i) > 2 else None, a, node)
        elif op == "Relu":
            out = np.maximum(i[0], 0)
        elif op == "MaxPool":
            out = _pool(i[0], a, node, np.max)
        elif op == "AveragePool":
            out = _pool(i[0], a, node, np.mean)
        elif op == "GlobalAveragePool":
            out = i[0].mean(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            x, scale, bias, mean, var = i[:5]
            shape = (1, -1) + (1,) * (x.ndim - 2)
            inv = scale / np.sqrt(var + a.get("epsilon", 1e-5))
            out = (x - mean.reshape(shape)) * inv.reshape(shape) + bias.reshape(shape)
        elif op == "Flatten":
            axis = a.get("axis", 1)
            out = i[0].reshape(int(np.prod(i[0].shape[:axis])), -1)
        elif op == "Reshape":
            shape = [d if d != 0 else i[0].shape[k] for k, d in enumerate(i[1])]
            out = i[0].reshape(shape)
        elif op == "Transpose":
            out = np.transpose(i[0], a["perm"])
        elif op == "Gemm":
            x = i[0].T if a.get("transA", 0) else i[0]
            w = i[1].T if a.get("transB", 0) else i[1]
            out = a.get("alpha", 1.0) * (x @ w)
            if len(i) > 2 and i[2] is not None:
                out = out + a.get("beta", 1.0) * i[2]
        elif op == "MatMul":
            out = i[0] @ i[1]
        elif op == "Add":
            out = i[0] + i[1]
        elif op == "Constant":
            out = numpy_helper.to_array(a["value"])
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = np.asarray(out, dtype=i[0].dtype if i and i[0] is not None else None)
    return {o.name: env[o.name] for o in model.graph.output}
