"""Check the converted model against nsfwjs itself: twelve pictures through TF.js (under node)
and through troupe.characters.stylisation, and the largest differences printed.

    npm install --prefix /tmp/nsfwjs-node nsfwjs@4.4.0 @tensorflow/tfjs@4.22.0 buffer@6
    .venv/bin/python tools/nsfwjs/compare.py --node-dir /tmp/nsfwjs-node

Three figures: the preprocessed tensor (stylisation.preprocess against TF.js's, bit for bit?),
the network (ONNX against TF.js fed the same tensor), and the whole path (stylisation's
scores on the raw pixels against nsfwjs's infer()).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from troupe.characters import stylisation

HERE = Path(__file__).resolve().parent
SHEETS = HERE.parents[1] / "bench" / "real_footage" / "sheets"


def cartoon(width: int, height: int, palette: int) -> np.ndarray:
    """A flat-colour cartoon person: outlined head, hair, eyes, smile, shirt, arms and legs."""
    skins = [(250, 215, 180), (200, 150, 110)]
    shirts = [(40, 120, 220), (220, 60, 60)]
    image = np.full((height, width, 3), (120, 200, 240) if palette == 0 else (250, 240, 190))
    image = image.astype(np.uint8)
    cx, s = width // 2, min(width, height) / 100
    line = (20, 20, 20)

    def p(x: float, y: float) -> tuple[int, int]:
        return round(cx + x * s), round(y * s)

    body = np.array([p(-18, 45), p(18, 45), p(24, 80), p(-24, 80)], np.int32)
    cv2.fillPoly(image, [body], shirts[palette], cv2.LINE_AA)
    cv2.polylines(image, [body], True, line, max(1, round(s)), cv2.LINE_AA)
    for side in (-1, 1):
        cv2.line(image, p(side * 18, 48), p(side * 34, 70), skins[palette], round(5 * s))
        cv2.line(image, p(side * 10, 80), p(side * 12, 98), (60, 60, 90), round(7 * s))
    cv2.circle(image, p(0, 26), round(18 * s), skins[palette], -1, cv2.LINE_AA)
    cv2.circle(image, p(0, 26), round(18 * s), line, max(1, round(s)), cv2.LINE_AA)
    cv2.ellipse(image, p(0, 18), (round(19 * s), round(11 * s)), 0, 180, 360, (90, 50, 20), -1)
    for side in (-1, 1):
        cv2.circle(image, p(side * 7, 26), round(3 * s), (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, p(side * 7, 26), round(1.5 * s), line, -1, cv2.LINE_AA)
    cv2.ellipse(image, p(0, 33), (round(7 * s), round(4 * s)), 0, 0, 180, line, 2, cv2.LINE_AA)
    return image


def sheet_crop(name: str, x: int, y: int, w: int, h: int) -> np.ndarray:
    sheet = cv2.imread(str(SHEETS / f"{name}.jpg"), cv2.IMREAD_COLOR)
    if sheet is None:
        raise FileNotFoundError(SHEETS / f"{name}.jpg")
    return np.ascontiguousarray(sheet[y : y + h, x : x + w, ::-1])


def pictures() -> dict[str, np.ndarray]:
    astronaut = data.astronaut()
    return {
        "astronaut": astronaut,
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
        "astronaut_224": np.ascontiguousarray(astronaut[40:264, 140:364]),  # no resize
        "chelsea_small": cv2.resize(data.chelsea(), (90, 60), interpolation=cv2.INTER_AREA),
        "cartoon_blue": cartoon(300, 400, 0),
        "cartoon_red": cartoon(640, 360, 1),
        "happyfish": sheet_crop("cartoon_happyfish", 62, 26, 341, 286),
        "elf_lady": sheet_crop("drawn_elf_lady", 107, 108, 140, 205),
        "drawn_bear": sheet_crop("drawn_bear", 0, 0, 420, 290),
        "noise": np.random.default_rng(0).integers(0, 256, (200, 300, 3), np.uint8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-dir", type=Path, required=True)
    parser.add_argument("--keep", type=Path, help="keep the pictures and TF.js's results here")
    args = parser.parse_args()
    images = pictures()
    with tempfile.TemporaryDirectory() as work:
        folder = args.keep or Path(work)
        folder.mkdir(parents=True, exist_ok=True)
        index = []
        for name, image in images.items():
            (folder / f"{name}.rgb").write_bytes(np.ascontiguousarray(image).tobytes())
            index.append({"name": name, "height": image.shape[0], "width": image.shape[1]})
        (folder / "index.json").write_text(json.dumps(index))
        node = ["node", str(HERE / "compare.mjs"), str(folder), str(args.node_dir.resolve())]
        subprocess.run(node, check=True)
        results = json.loads((folder / "results.json").read_text())
        side = results["size"]
        tfjs_inputs = {
            name: np.fromfile(folder / f"{name}.input.f32", np.float32).reshape(side, side, 3)
            for name in images
        }
    model = stylisation.StylisationModel()
    ours = model.scores(list(images.values()))
    header = "picture          drawing neutral  TF.js drawing neutral  input Δ   net Δ    all Δ"
    print(header)
    worst = {"input": 0.0, "network": 0.0, "whole": 0.0}
    for row, (name, image) in enumerate(images.items()):
        tfjs = np.array(results["pictures"][name]["infer"], np.float32)
        predicted = np.array(results["pictures"][name]["predict"], np.float32)
        assert np.array_equal(tfjs, predicted), f"{name}: the tensor rebuilt is not infer()'s"
        input_gap = float(np.abs(stylisation.preprocess(image) - tfjs_inputs[name]).max())
        (network,) = model._session.run(None, {"image": tfjs_inputs[name][None]})
        network_gap = float(np.abs(network[0] - tfjs).max())
        whole_gap = float(np.abs(ours[row] - tfjs).max())
        for key, gap in zip(worst, (input_gap, network_gap, whole_gap), strict=True):
            worst[key] = max(worst[key], gap)
        d, n = stylisation.DRAWING, stylisation.NEUTRAL
        print(
            f"{name:16} {ours[row, d]:7.4f} {ours[row, n]:7.4f}  {tfjs[d]:13.4f} {tfjs[n]:7.4f}"
            f"  {input_gap:.1e}  {network_gap:.1e}  {whole_gap:.1e}"
        )
    print(f"TF.js {results['tfjs']} ({results['backend']}), largest |Δ|: {worst}")


if __name__ == "__main__":
    main()
