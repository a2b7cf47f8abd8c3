#!/usr/bin/env python3
"""Inputs and the OpenCV side of benchmarks/prepare-dataset-bench.sh.

  prepare_dataset_bench.py make DIR N      N synthetic 1920x1080 drawings as JPEG (quality 90),
                                           with a caption file each (deterministic: seed 0)
  prepare_dataset_bench.py opencv IN OUT   the same work as one prepare-dataset image, in a plain
                                           Python loop with OpenCV, as controlnet_aux's Canny
                                           detector does it: read, HWC3, resize_image, Canny,
                                           write source/ and target/ PNGs and prompt.json;
                                           prints "opencv: N images in S s, R images/s"
  prepare_dataset_bench.py compare A B     share of equal pixels between the control maps of
                                           two outputs (A/source/*.png against B/source/*.png)
"""
import json
import os
import sys
import time

import cv2
import numpy as np


def hwc3(x):
    """ControlNet's annotator/util.py HWC3 (also controlnet_aux.util.HWC3)."""
    assert x.dtype == np.uint8
    if x.ndim == 2:
        x = x[:, :, None]
    h, w, c = x.shape
    assert c in (1, 3, 4)
    if c == 3:
        return x
    if c == 1:
        return np.concatenate([x, x, x], axis=2)
    color = x[:, :, 0:3].astype(np.float32)
    alpha = x[:, :, 3:4].astype(np.float32) / 255.0
    y = color * alpha + 255.0 * (1.0 - alpha)
    return y.clip(0, 255).astype(np.uint8)


def resize_image(input_image, resolution):
    """ControlNet's annotator/util.py resize_image (also controlnet_aux.util.resize_image)."""
    h, w, _ = input_image.shape
    h, w = float(h), float(w)
    k = float(resolution) / min(h, w)
    h = int(np.round(h * k / 64.0)) * 64
    w = int(np.round(w * k / 64.0)) * 64
    return cv2.resize(input_image, (w, h), interpolation=cv2.INTER_LANCZOS4 if k > 1 else cv2.INTER_AREA)


def make(out_dir, n):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    h, w = 1080, 1920
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xs / w * 0.6 + ys / h * 0.4)[:, :, None]
        img = (a * (1 - t) + b * t).astype(np.uint8)
        for _ in range(40):
            color = tuple(int(v) for v in rng.integers(0, 256, 3))
            kind = rng.integers(0, 3)
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            if kind == 0:
                cv2.circle(img, (x, y), int(rng.integers(10, 300)), color, -1 if rng.random() < 0.5 else 3, cv2.LINE_AA)
            elif kind == 1:
                cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), color,
                         int(rng.integers(1, 8)), cv2.LINE_AA)
            else:
                cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 400)), y + int(rng.integers(20, 300))), color, 4)
        noise = rng.normal(0, 6, img.shape)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
        name = os.path.join(out_dir, f"frame{i:04d}")
        cv2.imwrite(name + ".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        with open(name + ".txt", "w", encoding="utf-8") as f:
            f.write(f"synthetic drawing {i}\n")


def opencv(in_dir, out_dir, resolution=512, low=100, high=200):
    files = sorted(f for f in os.listdir(in_dir) if f.lower().endswith((".png", ".jpg", ".jpeg")))
    os.makedirs(os.path.join(out_dir, "source"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "target"), exist_ok=True)
    start = time.perf_counter()
    done = 0
    with open(os.path.join(out_dir, "prompt.json"), "w", encoding="utf-8") as prompts:
        for f in files:
            stem = os.path.splitext(f)[0]
            bgr = cv2.imread(os.path.join(in_dir, f), cv2.IMREAD_UNCHANGED)
            if bgr is None:
                continue
            # OpenCV reads BGR(A); ControlNet works on RGB(A)
            rgb = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGBA if bgr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
            resized = resize_image(hwc3(rgb), resolution)
            control = cv2.Canny(resized, low, high)
            cv2.imwrite(os.path.join(out_dir, "source", stem + ".png"), control)
            cv2.imwrite(os.path.join(out_dir, "target", stem + ".png"), cv2.cvtColor(resized, cv2.COLOR_RGB2BGR))
            caption = os.path.join(in_dir, stem + ".txt")
            prompt = open(caption, encoding="utf-8").read().strip() if os.path.exists(caption) else ""
            prompts.write(json.dumps({"source": f"source/{stem}.png", "target": f"target/{stem}.png", "prompt": prompt}) + "\n")
            done += 1
    seconds = time.perf_counter() - start
    print(f"opencv: {done} images in {seconds:.2f} s, {done / seconds:.2f} images/s "
          f"(cv2 {cv2.__version__}, {cv2.getNumThreads()} threads)")


def compare(a, b):
    names = sorted(os.listdir(os.path.join(a, "source")))
    equal = total = same_files = 0
    for name in names:
        x = cv2.imread(os.path.join(a, "source", name), cv2.IMREAD_GRAYSCALE)
        y = cv2.imread(os.path.join(b, "source", name), cv2.IMREAD_GRAYSCALE)
        if y is None or x.shape != y.shape:
            total += x.size
            continue
        equal += int((x == y).sum())
        total += x.size
        same_files += int((x == y).all())
    print(f"{100.0 * equal / max(total, 1):.4f}% equal control-map pixels, {same_files}/{len(names)} maps identical")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "opencv":
        opencv(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
