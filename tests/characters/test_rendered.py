"""The photographed-or-rendered head on CLIP embeddings, on real pictures: scikit-image's astronaut
(a photograph) scores as a photograph, film CGI people (Megamind, from the real-footage contact
sheets), a cartoon and a shaded 3D-looking head drawn here score as rendered; the encoder runs one
crop at a time, and its preprocessing is CLIP's centre crop."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from tests.support import in_a_forked_child
from troupe.characters import rendered
from troupe.characters.humans import face_scores
from troupe.characters.likeness import CROP_GROWTH, crop_around
from troupe.characters.rendered import (
    EMBED_DIM,
    ENCODER_PACKAGE,
    HEAD_FILE,
    SIDE,
    RenderedModel,
    photograph_probability,
    preprocess,
)

SHEETS = Path(__file__).resolve().parents[2] / "bench" / "real_footage" / "sheets"

try:
    distribution(ENCODER_PACKAGE)
    HAVE_ENCODER = True
except PackageNotFoundError:
    HAVE_ENCODER = False
needs_encoder = pytest.mark.skipif(
    not HAVE_ENCODER, reason=f"install {ENCODER_PACKAGE} (scripts/setup)"
)


def face_crop(image: np.ndarray) -> np.ndarray:
    """The likeliest face's crop, cut as likeness.py cuts a face sighting."""
    scores, boxes = face_scores(image)
    x, y, w, h = boxes[int(np.argmax(scores))].round().astype(int)
    return crop_around(image, (int(x), int(y), int(w), int(h)), CROP_GROWTH["face"])


def sheet_tiles(name: str, count: int) -> list[np.ndarray]:
    """The frames of a real-footage contact sheet (RGB), left to right."""
    sheet = cv2.imread(str(SHEETS / f"{name}.jpg"), cv2.IMREAD_COLOR)
    assert sheet is not None, name
    width = sheet.shape[1] // count
    return [np.ascontiguousarray(sheet[:, i * width : (i + 1) * width, ::-1]) for i in range(count)]


def cartoon_face(side: int = 240) -> np.ndarray:
    """A flat-colour cartoon head: outlined skin disc, hair, eyes and a smile."""
    image = np.full((side, side, 3), (250, 240, 190), np.uint8)
    c, r = side // 2, side * 3 // 8
    cv2.circle(image, (c, c), r, (250, 215, 180), -1, cv2.LINE_AA)
    cv2.circle(image, (c, c), r, (20, 20, 20), 3, cv2.LINE_AA)
    cv2.ellipse(image, (c, c - r // 3), (r + 4, r * 2 // 3), 0, 180, 360, (90, 50, 20), -1)
    for side_x in (-1, 1):
        eye = (c + side_x * r // 3, c + r // 8)
        cv2.circle(image, eye, r // 6, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, eye, r // 12, (20, 20, 20), -1, cv2.LINE_AA)
    cv2.ellipse(image, (c, c + r // 2), (r // 3, r // 6), 0, 0, 180, (20, 20, 20), 3, cv2.LINE_AA)
    return image


def shaded_head(side: int = 256) -> np.ndarray:
    """A smooth, lit 3D-looking head with a specular highlight and glossy eyes, the way a render
    looks: no texture, no noise."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    image = np.zeros((side, side, 3), np.float32) + (60, 80, 110) + (yy / side * 40)[..., None]
    cx, cy, r = side / 2, side * 0.48, side * 0.33
    dx, dy = (xx - cx) / r, (yy - cy) / (r * 1.15)
    inside = dx**2 + dy**2 < 1
    nz = np.sqrt(np.clip(1 - dx**2 - dy**2, 0, 1))
    light = np.clip(-0.3 * dx - 0.5 * dy + 0.8 * nz, 0, 1)
    skin = np.array((225, 170, 140), np.float32) * (0.25 + 0.75 * light[..., None])
    image[inside] = (skin + 100 * light[..., None] ** 30)[inside]
    for sx in (-1, 1):
        ex, ey = cx + sx * r * 0.38, cy - r * 0.1
        image[(xx - ex) ** 2 + (yy - ey) ** 2 < (r * 0.16) ** 2] = (245, 245, 245)
        image[(xx - ex) ** 2 + (yy - ey - 2) ** 2 < (r * 0.08) ** 2] = (40, 60, 30)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.0), 0, 255).astype(np.uint8)


def shrunk(image: np.ndarray, side: int, quality: int) -> np.ndarray:
    """The picture as a small, JPEG-compressed video frame shows it."""
    small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    _, jpeg = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.ascontiguousarray(decoded[:, :, ::-1])


@needs_encoder
def test_a_photographed_person_scores_as_a_photograph() -> None:
    astronaut = data.astronaut()
    face = face_crop(astronaut)
    p = photograph_probability([face, astronaut, shrunk(face, 48, 60)])
    assert p.dtype == np.float32
    assert (p > 0.6).all(), p


@needs_encoder
def test_film_cgi_people_score_as_rendered() -> None:
    # DreamWorks' Megamind (OpenCV's sample clip): faces at the size the product cuts them.
    faces = [face_crop(t) for t in sheet_tiles("cgi_megamind_woman", 4)[:2]]
    faces += [face_crop(t) for t in sheet_tiles("cgi_megamind_man", 3)[:1]]
    assert (photograph_probability(faces) < 0.35).all()


@needs_encoder
def test_drawn_and_shaded_heads_score_as_rendered() -> None:
    assert (photograph_probability([cartoon_face(), shaded_head()]) < 0.25).all()


@needs_encoder
def test_one_crop_at_a_time_whatever_the_batch() -> None:
    # The INT8 encoder's activation scales come from its whole input: crops run alone.
    model = rendered.rendered_model()
    crops = [cartoon_face(), data.astronaut(), shaded_head()]
    together = model.encoder.embed(crops)
    assert together.shape == (3, EMBED_DIM)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(model.encoder.embed([crops[1]])[0], together[1])
    assert photograph_probability([]).shape == (0,)


def test_preprocess_takes_the_centre_square_at_clip_scale() -> None:
    # 100 × 300: the shortest side becomes 224, and only the middle third is kept.
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 100:200] = (255, 128, 0)
    tensor = preprocess(image)
    assert tensor.shape == (1, 3, SIDE, SIDE)
    assert tensor.dtype == np.float32
    expected = (np.array([255, 128, 0]) / 255 - [0.48145466, 0.4578275, 0.40821073]) / [
        0.26862954,
        0.26130258,
        0.27577711,
    ]
    np.testing.assert_allclose(tensor[0, :, 10:-10, 10:-10].mean(axis=(1, 2)), expected, atol=1e-4)


def test_rejects_what_is_not_an_rgb_uint8_image() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        preprocess(data.camera())
    with pytest.raises(ValueError, match="RGB uint8"):
        preprocess(data.astronaut().astype(np.float32))


def test_the_head_is_tiny() -> None:
    assert HEAD_FILE.stat().st_size < 10_000
    with np.load(HEAD_FILE) as head:
        assert head["weights"].shape == (EMBED_DIM,)
        assert np.isfinite(head["weights"]).all()


@needs_encoder
def test_a_head_fitted_on_another_encoder_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "head.npz"
    np.savez(other, weights=np.zeros(EMBED_DIM, np.float32), bias=np.float32(0), encoder_bytes=1)
    encoder = rendered.rendered_model().encoder
    with pytest.raises(RuntimeError, match="not the encoder the head was fitted on"):
        RenderedModel(encoder, other)


@needs_encoder
def test_a_forked_child_builds_its_own_session() -> None:
    parent = rendered.rendered_model()
    assert rendered.rendered_model() is parent
    crop = cartoon_face()
    expected = photograph_probability([crop])

    def check() -> list[bool]:
        own = rendered.rendered_model() is not parent
        return [own, bool(np.allclose(photograph_probability([crop]), expected, atol=1e-6))]

    assert in_a_forked_child(check) == [True, True]
    assert rendered.rendered_model() is parent


def integer_matmul_model(weights: np.ndarray, path: Path) -> None:
    """A model that is one `MatMulInteger` of uint8 activations by the given int8 weights (zero
    points 0), as the INT8 encoder's layers are."""
    from onnx import TensorProto, helper, numpy_helper

    rows, columns = weights.shape
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["activations", "weights"], ["products"])],
        "integer_matmul",
        [helper.make_tensor_value_info("activations", TensorProto.UINT8, [1, rows])],
        [helper.make_tensor_value_info("products", TensorProto.INT32, [1, columns])],
        [numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    path.write_bytes(model.SerializeToString())


def test_integer_layers_give_the_exact_products_on_every_cpu(tmp_path: Path) -> None:
    """Bright activations times large signed weights: onnxruntime's U8S8 kernel on a CPU with
    AVX2 and no VNNI saturates their pairwise sums at 16 bits (255 x 127 x 2 > 32767), and the
    converted model must give the exact integer products there as on any other CPU."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    weights = rng.choice(np.array([-128, -127, 126, 127], np.int8), size=(64, 16))
    activations = np.full((1, 64), 255, np.uint8)
    activations[0, ::3] = rng.integers(200, 256, size=22, dtype=np.uint8)
    path = tmp_path / "matmul.onnx"
    integer_matmul_model(weights, path)
    session = ort.InferenceSession(
        rendered.exact_on_every_cpu(path), providers=["CPUExecutionProvider"]
    )
    (products,) = session.run(None, {"activations": activations})
    expected = activations.astype(np.int64) @ weights.astype(np.int64)
    assert np.array_equal(products, expected)
