"""Convert nsfwjs's bundled TF.js Keras classifier to ONNX for troupe.characters.stylisation.

Run once, by a developer (needs npm and node; writes the model the product then ships):

    .venv/bin/python tools/nsfwjs/convert.py [--model mobilenet_v2|inception_v3]
        [--cache ~/.cache/troupe-nsfwjs] [--output PATH]

nsfwjs 4.4.0 (npm, MIT) carries its models as browserify bundles: `dist/models/NAME/model.min.js`
exports the Keras `model.json` (topology plus weights manifest) as a JavaScript object literal
and each `group1-shardKofN.min.js` exports one base64 string of weight bytes. Every weight is
stored quantised to uint8 with a per-tensor (min, scale); TF.js expands it as `q * scale + min`
(computed in doubles, kept as float32) before the network runs in float32.

The ONNX graph keeps the weights as those uint8 bytes (so the file stays near the bundle's size,
3.0 MB for MobileNetV2) and expands each with a 256-entry float32 table built exactly as TF.js
builds its values (`Gather(table, q)`): onnxruntime folds these constants once at session
creation, after which the network runs in float32 on the very weights TF.js uses.

The ONNX model takes NHWC float32 pictures in [0, 1] (N×224×224×3 for MobileNetV2, ×299 for
InceptionV3; the batch is free) and returns N×5 softmax probabilities in nsfwjs's class order
Drawing, Hentai, Neutral, Porn, Sexy. tools/nsfwjs/compare.mjs checks it against nsfwjs itself.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PACKAGE = "nsfwjs"
VERSION = "4.4.0"
REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "src" / "troupe" / "characters" / "models"
SIDES = {"mobilenet_v2": 224, "inception_v3": 299}
OPSET = 17
UPSTREAM_NOTICE = """\
The weights are those of the nsfw_model project (https://github.com/GantMan/nsfw_model),
which nsfwjs bundles; nsfw_model is also MIT licensed ("Copyright (c) 2020 The nsfw_model
Developers"). troupe converted them to ONNX with tools/nsfwjs/convert.py: the uint8-quantised
values are kept as they are and the graph is rebuilt operation by operation.
"""


def unpacked_package(cache: Path) -> Path:
    """The nsfwjs package, fetched once with `npm pack` and unpacked under `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{PACKAGE}-{VERSION}.tgz"
    if not tarball.is_file():
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}"], cwd=cache, check=True)
    root = cache / f"{PACKAGE}-{VERSION}"
    if not (root / "package" / "package.json").is_file():
        with tarfile.open(tarball) as archive:
            archive.extractall(root, filter="data")
    return root / "package"


def bundle_export(path: Path) -> object:
    """What a browserify bundle exports: the bundles are CommonJS-compatible, so node evaluates
    them (their object literals are JavaScript, not JSON) and prints the value as JSON."""
    script = "process.stdout.write(JSON.stringify(require(process.argv[1])))"
    out = subprocess.run(["node", "-e", script, str(path)], check=True, capture_output=True)
    return json.loads(out.stdout)


@dataclass
class Quantised:
    """A weight as its uint8 codes and the float32 value of each code."""

    codes: np.ndarray
    table: np.ndarray


def read_model(package: Path, name: str) -> tuple[dict, dict[str, Quantised]]:
    """The Keras topology and every weight (by name) as its uint8 codes and their values."""
    folder = package / "dist" / "models" / name
    model = bundle_export(folder / "model.min.js")
    assert isinstance(model, dict)
    weights: dict[str, Quantised] = {}
    for group in model["weightsManifest"]:
        data = b"".join(
            base64.b64decode(str(bundle_export(folder / f"{path}.min.js")))
            for path in group["paths"]
        )
        offset = 0
        for spec in group["weights"]:
            weights[spec["name"]] = _decode(spec, data, offset)
            offset += weights[spec["name"]].codes.size
        if offset != len(data):
            raise ValueError(f"{name}: {len(data) - offset} weight bytes left over")
    return model["modelTopology"], weights


def _decode(spec: dict, data: bytes, offset: int) -> Quantised:
    quantisation = spec.get("quantization")
    if spec["dtype"] != "float32" or not quantisation or quantisation["dtype"] != "uint8":
        raise ValueError(f"unsupported weight encoding: {spec}")
    codes = np.frombuffer(data, np.uint8, math.prod(spec["shape"]), offset)
    # TF.js: values[i] = q * scale + min, in doubles, stored in a Float32Array.
    codes_to_values = np.arange(256, dtype=np.float64) * quantisation["scale"] + quantisation["min"]
    return Quantised(codes.reshape(spec["shape"]), codes_to_values.astype(np.float32))


@dataclass
class Graph:
    """The ONNX graph under construction, in NCHW, with each tensor's channels and spatial size."""

    weights: dict[str, Quantised]
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initialisers: list[onnx.TensorProto] = field(default_factory=list)
    # Keras layer name -> (ONNX tensor, channels, (height, width)); spatial None once flat.
    tensors: dict[str, tuple[str, int, tuple[int, int] | None]] = field(default_factory=dict)

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initialisers.append(numpy_helper.from_array(value, name))
        return name

    def weight(
        self, name: str, layout: tuple[int, ...] | None = None, shape: tuple[int, ...] = ()
    ) -> str:
        """The float32 weight `name`, reshaped to `shape` and transposed to `layout`, expanded
        from its uint8 codes."""
        weight = self.weights.pop(name)
        codes = weight.codes.reshape(shape) if shape else weight.codes
        codes = codes if layout is None else codes.transpose(layout)
        q = self.constant(f"{name}:q", np.ascontiguousarray(codes))
        table = self.constant(f"{name}:table", weight.table)
        index = self.node("Cast", [q], f"{name}:index", to=TensorProto.INT32)
        return self.node("Gather", [table, index], name)

    def optional_weight(self, name: str, fill: float, size: int) -> str:
        if name in self.weights:
            return self.weight(name)
        return self.constant(f"{name}:fill", np.full(size, fill, np.float32))


def _same_pads(size: tuple[int, int], kernel: list[int], strides: list[int]) -> list[int]:
    """TensorFlow's SAME padding as ONNX pads (begin, begin, end, end): the odd pixel at the end."""
    begin, end = [], []
    for length, k, s in zip(size, kernel, strides, strict=True):
        total = max((math.ceil(length / s) - 1) * s + k - length, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def _window(
    config: dict, size: tuple[int, int], kernel: list[int]
) -> tuple[dict[str, list[int]], tuple[int, int]]:
    """A convolution's or pooling's ONNX attributes, and its output's height and width."""
    if config.get("dilation_rate", [1, 1]) != [1, 1]:
        raise ValueError(f"{config['name']}: dilation is not supported")
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError(f"{config['name']}: only channels_last is supported")
    strides = list(config["strides"])
    if config["padding"] == "same":
        pads = _same_pads(size, kernel, strides)
        out = (math.ceil(size[0] / strides[0]), math.ceil(size[1] / strides[1]))
    elif config["padding"] == "valid":
        pads = [0, 0, 0, 0]
        out = ((size[0] - kernel[0]) // strides[0] + 1, (size[1] - kernel[1]) // strides[1] + 1)
    else:
        raise ValueError(f"{config['name']}: unsupported padding {config['padding']!r}")
    return {"kernel_shape": kernel, "strides": strides, "pads": pads}, out


def _activation(graph: Graph, name: str, tensor: str, activation: str) -> str:
    if activation == "linear":
        return tensor
    ops = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if activation == "softmax":
        return graph.node("Softmax", [tensor], f"{name}:softmax", axis=-1)
    if activation in ops:
        return graph.node(ops[activation], [tensor], f"{name}:{activation}")
    raise ValueError(f"{name}: unsupported activation {activation!r}")


def add_layer(graph: Graph, layer: dict) -> None:
    """Append one Keras layer (channels_last) to the NCHW graph."""
    kind, config, name = layer["class_name"], layer["config"], layer["name"]
    (inbound,) = layer["inbound_nodes"]  # every layer here is called once
    inputs = [graph.tensors[source[0]] for source in inbound]
    tensor, channels, size = inputs[0]
    if kind in ("Conv2D", "DepthwiseConv2D"):
        assert size is not None
        kernel = list(config["kernel_size"])
        window, out_size = _window(config, size, kernel)
        if kind == "Conv2D":
            weight = graph.weight(f"{name}/kernel", (3, 2, 0, 1))  # HWIO -> OIHW
            out_channels, group = config["filters"], 1
        else:
            multiplier = config["depth_multiplier"]
            # (H, W, C, multiplier) -> (C·multiplier, 1, H, W): output c·m + k reads channel c.
            shape = (*kernel, channels * multiplier, 1)
            weight = graph.weight(f"{name}/depthwise_kernel", (2, 3, 0, 1), shape)
            out_channels, group = channels * multiplier, channels
        conv_inputs = [tensor, weight]
        if config["use_bias"]:
            conv_inputs.append(graph.weight(f"{name}/bias"))
        out = graph.node("Conv", conv_inputs, name, group=group, **window)
        out = _activation(graph, name, out, config["activation"])
        graph.tensors[name] = (out, out_channels, out_size)
    elif kind == "BatchNormalization":
        if config["axis"] not in (-1, 3):
            raise ValueError(f"{name}: batch normalisation over axis {config['axis']}")
        out = graph.node(
            "BatchNormalization",
            [
                tensor,
                graph.optional_weight(f"{name}/gamma", 1.0, channels),
                graph.optional_weight(f"{name}/beta", 0.0, channels),
                graph.weight(f"{name}/moving_mean"),
                graph.weight(f"{name}/moving_variance"),
            ],
            name,
            epsilon=float(config["epsilon"]),
        )
        graph.tensors[name] = (out, channels, size)
    elif kind == "ReLU":
        if config.get("negative_slope", 0) != 0 or config.get("threshold", 0) != 0:
            raise ValueError(f"{name}: leaky or thresholded ReLU")
        if config.get("max_value") is None:
            out = graph.node("Relu", [tensor], name)
        else:
            low = graph.constant(f"{name}:min", np.array(0.0, np.float32))
            high = graph.constant(f"{name}:max", np.array(config["max_value"], np.float32))
            out = graph.node("Clip", [tensor, low, high], name)
        graph.tensors[name] = (out, channels, size)
    elif kind == "Activation":
        out = _activation(graph, name, tensor, config["activation"])
        graph.tensors[name] = (out, channels, size)
    elif kind == "ZeroPadding2D":
        assert size is not None
        (top, bottom), (left, right) = config["padding"]
        pads = graph.constant(f"{name}:pads", np.array([0, 0, top, left, 0, 0, bottom, right]))
        out = graph.node("Pad", [tensor, pads], name)
        graph.tensors[name] = (out, channels, (size[0] + top + bottom, size[1] + left + right))
    elif kind in ("AveragePooling2D", "MaxPooling2D"):
        assert size is not None
        kernel = list(config["pool_size"])
        window, out_size = _window(config, size, kernel)
        op = "AveragePool" if kind == "AveragePooling2D" else "MaxPool"
        # TensorFlow's SAME average pooling divides by the pixels inside the picture only,
        # as ONNX does with count_include_pad=0 (its default).
        out = graph.node(op, [tensor], name, **window)
        graph.tensors[name] = (out, channels, out_size)
    elif kind == "Add":
        out = graph.node("Add", [t for t, _, _ in inputs], name)
        graph.tensors[name] = (out, channels, size)
    elif kind == "Concatenate":
        if config["axis"] not in (-1, 3):
            raise ValueError(f"{name}: concatenation over axis {config['axis']}")
        out = graph.node("Concat", [t for t, _, _ in inputs], name, axis=1)
        graph.tensors[name] = (out, sum(c for _, c, _ in inputs), size)
    elif kind == "Flatten":
        assert size is not None
        # Keras flattens channels_last (H, W, C): go back to NHWC first.
        nhwc = graph.node("Transpose", [tensor], f"{name}:nhwc", perm=[0, 2, 3, 1])
        out = graph.node("Flatten", [nhwc], name, axis=1)
        graph.tensors[name] = (out, channels * size[0] * size[1], None)
    elif kind == "Dense":
        if size is not None:
            raise ValueError(f"{name}: Dense on a 4-D tensor")
        out = graph.node("MatMul", [tensor, graph.weight(f"{name}/kernel")], f"{name}:matmul")
        if config["use_bias"]:
            out = graph.node("Add", [out, graph.weight(f"{name}/bias")], name)
        out = _activation(graph, name, out, config["activation"])
        graph.tensors[name] = (out, config["units"], None)
    elif kind == "Dropout":
        graph.tensors[name] = inputs[0]  # inference: the identity
    else:
        raise ValueError(f"{name}: unsupported layer {kind}")


def build_onnx(topology: dict, weights: dict[str, Quantised], side: int) -> onnx.ModelProto:
    config = topology["model_config"]["config"]
    layers = config["layers"]
    (input_layer,) = [layer for layer in layers if layer["class_name"] == "InputLayer"]
    if input_layer["config"]["batch_input_shape"] != [None, side, side, 3]:
        raise ValueError(f"unexpected input {input_layer['config']['batch_input_shape']}")
    graph = Graph(dict(weights))
    nchw = graph.node("Transpose", ["image"], "image:nchw", perm=[0, 3, 1, 2])
    graph.tensors[input_layer["name"]] = (nchw, 3, (side, side))
    for layer in layers:
        if layer is not input_layer:
            add_layer(graph, layer)
    if graph.weights:
        raise ValueError(f"weights left unused: {sorted(graph.weights)}")
    ((output_layer, _, _),) = config["output_layers"]
    final, classes, _ = graph.tensors[output_layer]
    graph.node("Identity", [final], "probabilities")
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            f"nsfwjs-{VERSION}",
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", side, side, 3])],
            [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes])],
            graph.initialisers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="troupe tools/nsfwjs/convert.py",
        doc_string=(
            f"nsfwjs {VERSION} (npm, MIT): NHWC RGB in [0, 1] -> softmax over "
            "Drawing, Hentai, Neutral, Porn, Sexy"
        ),
    )
    model.ir_version = 8  # readable by onnxruntime releases well before the one pinned here
    onnx.checker.check_model(model, full_check=True)
    return model


def write_licence(package: Path, path: Path) -> None:
    meta = json.loads((package / "package.json").read_text())
    header = (
        f"{meta['name']} {meta['version']} (npm, {meta['license']}), "
        f"{meta['repository']['url'].removeprefix('git+')}\n"
        "Source of src/troupe/characters/models/nsfwjs_*.onnx; its LICENSE file follows.\n\n"
    )
    licence = (package / "LICENSE").read_text()
    path.write_text(f"{header}{licence.rstrip()}\n\n{UPSTREAM_NOTICE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(SIDES), default="mobilenet_v2")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "troupe-nsfwjs")
    parser.add_argument("--output", type=Path, help="default: the package's models folder")
    args = parser.parse_args()
    package = unpacked_package(args.cache)
    topology, weights = read_model(package, args.model)
    model = build_onnx(topology, weights, SIDES[args.model])
    output = args.output or MODELS / f"nsfwjs_{args.model}.onnx"
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))
    write_licence(package, output.parent / "NSFWJS-LICENSE.txt")
    print(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
