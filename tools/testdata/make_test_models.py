#!/usr/bin/python3
"""Generate the tiny ONNX test models used by the ImageFlowIO unit tests.

Run with the Debian python (needs python3-onnx, python3-numpy):

    /usr/bin/python3 tools/testdata/make_test_models.py

Writes into tests/TestData/models/ (relative to the repository root).
Deterministic: running it twice produces byte-identical files.
All models: opset 13, IR version 7 (loadable by ONNX Runtime 1.31).
Licence of the generated files: the project's own (MIT).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "TestData", "models")

OPSET = 13
IR_VERSION = 7
PRODUCER = "ImageFlowIO tools/testdata/make_test_models.py"

F32 = TensorProto.FLOAT
F16 = TensorProto.FLOAT16
U8 = TensorProto.UINT8

# ---------------------------------------------------------------------------
# Fixed parameters (documented in tests/TestData/models/README.md)
# ---------------------------------------------------------------------------
CLASSIFIER_LABELS = ["cat", "dog", "bird", "fish", "horse"]
# Gemm B matrix, shape [3, 5]: logits = mean_rgb (1x3) @ W (3x5) + b
CLASSIFIER_W = np.array(
    [
        # cat  dog  bird  fish  horse
        [1.0, 0.0, 0.0, 0.75, 0.25],   # mean R
        [0.0, 1.0, 0.0, 0.75, 0.25],   # mean G
        [0.0, 0.0, 1.0, -1.0, 0.25],   # mean B
    ],
    dtype=np.float32,
)
CLASSIFIER_B = np.array([0.0, 0.0, 0.0, 0.0, 0.5], dtype=np.float32)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def save(model, filename):
    model.producer_name = PRODUCER
    model.producer_version = "1"
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OUT, filename)
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    # re-load and check from disk too
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return path


def make(nodes, inputs, outputs, initializers=(), name="g"):
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs),
                              initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             ir_version=IR_VERSION)


def one_minus(in_shape, out_shape=None, elem=F32, in_name="x", out_name="y", name="invert"):
    one = numpy_helper.from_array(
        np.array(1.0, dtype=np.float16 if elem == F16 else np.float32), "one")
    return make(
        [helper.make_node("Sub", ["one", in_name], [out_name])],
        [vi(in_name, elem, in_shape)],
        [vi(out_name, elem, out_shape or in_shape)],
        [one], name)


# ---------------------------------------------------------------------------
# numpy references (used for self-checks below; same formulas as the README)
# ---------------------------------------------------------------------------
def ref_invert(x):
    return 1.0 - x


def ref_gray(x):
    return x.mean(axis=1, keepdims=True)


def ref_classifier(x):
    return x.mean(axis=(2, 3)) @ CLASSIFIER_W + CLASSIFIER_B


def ref_segment4(x):
    return np.concatenate([x, 1.0 - x.sum(axis=1, keepdims=True)], axis=1)


def ref_conv3(x, weights):
    def conv(x, w, b):
        n, c, h, wd = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        out = np.zeros((n, w.shape[0], h, wd), dtype=np.float64)
        for i in range(3):
            for j in range(3):
                patch = xp[:, :, i:i + h, j:j + wd]
                out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
        return out + b[None, :, None, None]
    (w1, b1), (w2, b2), (w3, b3) = weights
    h = np.maximum(conv(x, w1, b1), 0)
    h = np.maximum(conv(h, w2, b2), 0)
    return 1.0 / (1.0 + np.exp(-conv(h, w3, b3)))


def main():
    os.makedirs(OUT, exist_ok=True)
    NCHW = ["N", 3, "H", "W"]
    NHWC = ["N", "H", "W", 3]
    written = []

    written.append(save(one_minus(NCHW, name="invert_nchw"), "invert_nchw.onnx"))
    written.append(save(one_minus(NHWC, name="invert_nhwc"), "invert_nhwc.onnx"))

    written.append(save(make(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=1)],
        [vi("x", F32, NCHW)], [vi("y", F32, ["N", 1, "H", "W"])], name="gray_nchw"),
        "gray_nchw.onnx"))

    written.append(save(make(
        [helper.make_node("Identity", ["x"], ["y"])],
        [vi("x", F32, NCHW)], [vi("y", F32, NCHW)], name="identity_nchw"),
        "identity_nchw.onnx"))

    written.append(save(make(
        [helper.make_node("Identity", ["input_0"], ["output_0"])],
        [vi("input_0", F32, NCHW)], [vi("output_0", F32, NCHW)], name="identity_nchw_named"),
        "identity_nchw_named.onnx"))

    written.append(save(one_minus([1, 3, 64, 64], name="fixed_64_nchw"), "fixed_64_nchw.onnx"))

    # classifier: GlobalAveragePool -> Flatten -> Gemm
    written.append(save(make(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "W", "b"], ["logits"], alpha=1.0, beta=1.0),
        ],
        [vi("x", F32, NCHW)], [vi("logits", F32, ["N", 5])],
        [numpy_helper.from_array(CLASSIFIER_W, "W"), numpy_helper.from_array(CLASSIFIER_B, "b")],
        name="classifier_nchw"), "classifier_nchw.onnx"))
    with open(os.path.join(OUT, "classifier_labels.txt"), "w", newline="\n") as f:
        f.write("\n".join(CLASSIFIER_LABELS) + "\n")

    # segment4: y = concat(R, G, B, 1 - (R+G+B)) along channels
    written.append(save(make(
        [
            helper.make_node("ReduceSum", ["x", "axes1"], ["s"], keepdims=1),
            helper.make_node("Sub", ["one", "s"], ["bg"]),
            helper.make_node("Concat", ["x", "bg"], ["y"], axis=1),
        ],
        [vi("x", F32, NCHW)], [vi("y", F32, ["N", 4, "H", "W"])],
        [numpy_helper.from_array(np.array([1], dtype=np.int64), "axes1"),
         numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")],
        name="segment4_nchw"), "segment4_nchw.onnx"))

    # conv3: small conv net with deterministic random weights
    rng = np.random.RandomState(42)
    shapes = [(16, 3), (16, 16), (3, 16)]
    weights = []
    for (o, i) in shapes:
        w = (rng.standard_normal((o, i, 3, 3)) * 0.1).astype(np.float32)
        b = np.zeros((o,), dtype=np.float32)
        weights.append((w, b))
    inits = []
    for k, (w, b) in enumerate(weights, 1):
        inits += [numpy_helper.from_array(w, f"conv{k}.weight"),
                  numpy_helper.from_array(b, f"conv{k}.bias")]
    conv_kw = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    written.append(save(make(
        [
            helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], **conv_kw),
            helper.make_node("Relu", ["c1"], ["r1"]),
            helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], **conv_kw),
            helper.make_node("Relu", ["c2"], ["r2"]),
            helper.make_node("Conv", ["r2", "conv3.weight", "conv3.bias"], ["c3"], **conv_kw),
            helper.make_node("Sigmoid", ["c3"], ["y"]),
        ],
        [vi("x", F32, NCHW)], [vi("y", F32, NCHW)], inits, name="conv3_nchw"),
        "conv3_nchw.onnx"))

    written.append(save(one_minus([1, 3, "H", "W"], name="fixed_batch1_invert_nchw"),
                        "fixed_batch1_invert_nchw.onnx"))

    written.append(save(one_minus(NCHW, elem=F16, name="invert_nchw_fp16"),
                        "invert_nchw_fp16.onnx"))

    written.append(save(make(
        [
            helper.make_node("Cast", ["x"], ["xf"], to=F32),
            helper.make_node("Div", ["xf", "c255"], ["y"]),
        ],
        [vi("x", U8, NHWC)], [vi("y", F32, NHWC)],
        [numpy_helper.from_array(np.array(255.0, dtype=np.float32), "c255")],
        name="passthrough_uint8_nhwc"), "passthrough_uint8_nhwc.onnx"))

    # not a model: exactly 200 bytes of ASCII text
    text = ("This file is NOT an ONNX model. It is plain text used by the ImageFlowIO "
            "tests to check that loading a non-protobuf file fails with a clear error. ")
    text = (text * 3)[:199] + "\n"
    assert len(text.encode("ascii")) == 200
    with open(os.path.join(OUT, "not_a_model.onnx"), "wb") as f:
        f.write(text.encode("ascii"))

    # ---- self-checks of the numpy references (documented example values) ----
    x = np.zeros((1, 3, 2, 2), dtype=np.float32)
    x[0, 0] = 0.8; x[0, 1] = 0.2; x[0, 2] = 0.1
    np.testing.assert_allclose(ref_classifier(x), [[0.8, 0.2, 0.1, 0.65, 0.775]], atol=1e-6)
    def solid(r, g, b):
        return np.broadcast_to(np.array([r, g, b], np.float32)[None, :, None, None], (1, 3, 2, 2))
    expect = {(1, 0, 0): "cat", (0, 1, 0): "dog", (0, 0, 1): "bird", (1, 1, 0): "fish",
              (0, 0, 0): "horse", (0.5, 0.5, 0.5): "horse", (1, 1, 1): "horse"}
    for rgb, label in expect.items():
        logits = ref_classifier(solid(*rgb))[0]
        assert CLASSIFIER_LABELS[int(np.argmax(logits))] == label, (rgb, logits)
        assert np.sort(logits)[-1] - np.sort(logits)[-2] >= 0.25, (rgb, logits)  # no ties
    assert np.argmax(ref_segment4(x), axis=1).tolist() == [[[0, 0], [0, 0]]]
    assert np.argmax(ref_segment4(np.zeros_like(x)), axis=1).max() == 3
    np.testing.assert_allclose(ref_gray(x)[0, 0, 0, 0], (0.8 + 0.2 + 0.1) / 3, atol=1e-6)
    y = ref_conv3(np.full((1, 3, 4, 4), 0.5), weights)
    assert y.shape == (1, 3, 4, 4) and np.all((y > 0) & (y < 1))

    for p in written:
        m = onnx.load(p)
        ins = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim])
               for i in m.graph.input]
        outs = [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim])
                for o in m.graph.output]
        print(f"{os.path.basename(p):34s} {os.path.getsize(p):6d} B  in={ins} out={outs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
