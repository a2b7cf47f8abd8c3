#!/usr/bin/env python3
"""Anchors for bench_cuda: the same shapes through torch (SDPA, F.conv2d on cuDNN, the DDIM
step as separate tensor ops, a device-to-device copy) timed with CUDA events, and
cv2.Canny on the CPU (OpenCV's own reference; cv2.cuda is used too where it exists).

    gpu_anchors.py [results.jsonl]

float32 with TF32 off for bench_cuda's float32 rows (it computes in plain float32); cuDNN
with TF32 is reported as a second line for conv2d since that is torch's default. float16 and
bfloat16 rows (SDPA, F.conv2d on cuDNN) for bench_cuda's tensor-core rows, in TFLOP/s. One
failing case is reported and the others continue.
"""
import json
import math
import sys
import time
import traceback

out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None


def report(case, us, metric, value, **extra):
    print(f"{case:<60} {us:10.1f} us  {value:10.1f} {metric}", flush=True)
    if out:
        out.write(json.dumps({"source": "anchor", "case": case, "us": round(us, 3), metric: round(value, 3), **extra}) + "\n")
        out.flush()


def guarded(name, fn):
    try:
        fn()
    except Exception as e:  # keep going: one anchor must not hide the others
        print(f"{name:<60} FAILED: {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(limit=2)
        if out:
            out.write(json.dumps({"source": "anchor", "case": name, "error": str(e)[:300]}) + "\n")


import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
dev = torch.device("cuda")
print(f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name(0)}", flush=True)


def time_ms(fn, iterations=10):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iterations


def memcpy():
    n = 64 << 20
    a = torch.empty(n, device=dev)
    b = torch.empty(n, device=dev)
    ms = time_ms(lambda: b.copy_(a), 20)
    report(f"torch copy_ D2D {n * 4 >> 20} MiB", ms * 1e3, "GB/s (read+write)", 2 * n * 4 / ms / 1e6)


def ddim(n, guided, eta, with_x0):
    x, c, u, z = (torch.randn(n, device=dev) for _ in range(4))
    a, ap, g = 0.3, 0.45, 7.5
    var = (1 - ap) / (1 - a) * (1 - a / ap)
    std = eta * math.sqrt(var)

    def step():  # diffusers' DDIMScheduler.step, op by op, after the CFG combine
        m = u + g * (c - u) if guided else c
        x0 = (x - math.sqrt(1 - a) * m) / math.sqrt(a)
        eps = m
        prev = math.sqrt(ap) * x0 + math.sqrt(1 - ap - std ** 2) * eps
        if eta > 0:
            prev = prev + std * z
        return prev, x0

    ms = time_ms(step, 20)
    streams = 2 + guided + (eta > 0) + 1 + with_x0
    report(f"torch ddim step n={n}{' guided' if guided else ''}{' eta' if eta > 0 else ''}{' x0' if with_x0 else ''}",
           ms * 1e3, "GB/s (useful bytes)", streams * n * 4 / ms / 1e6)


def attention(b, h, lq, lk, d, causal=False):
    q = torch.randn(b, h, lq, d, device=dev)
    k = torch.randn(b, h, lk, d, device=dev)
    v = torch.randn(b, h, lk, d, device=dev)
    ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), 5)
    flops = 4.0 * b * h * lq * lk * d * (0.5 if causal else 1.0)
    report(f"torch sdpa fp32 B={b} H={h} Lq={lq} Lk={lk} D={d}{' causal' if causal else ''}", ms * 1e3, "GFLOP/s",
           flops / ms / 1e6)


HALF = {"f16": torch.float16, "bf16": torch.bfloat16}


def attention_half(b, h, lq, lk, d, dtype, causal=False):
    """SDPA in float16 / bfloat16 (torch picks its flash or memory-efficient kernel), in
    TFLOP/s like bench_cuda's 16-bit rows."""
    q, k, v = (torch.randn(b, h, n, d, device=dev, dtype=HALF[dtype]) for n in (lq, lk, lk))
    ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), 5)
    flops = 4.0 * b * h * lq * lk * d * (0.5 if causal else 1.0)
    report(f"torch sdpa {dtype} B={b} H={h} Lq={lq} Lk={lk} D={d}{' causal' if causal else ''}", ms * 1e3, "TFLOP/s",
           flops / ms / 1e9)


def conv(n, cin, hw, cout, k, stride=1, groups=1, silu=False, tf32=False):
    torch.backends.cudnn.allow_tf32 = tf32
    x = torch.randn(n, cin, hw, hw, device=dev)
    w = torch.randn(cout, cin // groups, k, k, device=dev) * 0.05
    bias = torch.randn(cout, device=dev)
    pad = k // 2

    def run():
        y = F.conv2d(x, w, bias, stride=stride, padding=pad, groups=groups)
        return F.silu(y) if silu else y

    ms = time_ms(run, 10)
    out_hw = (hw + 2 * pad - k) // stride + 1
    flops = 2.0 * n * cout * out_hw * out_hw * (cin // groups) * k * k
    report(f"torch conv2d{' tf32' if tf32 else ''} [{n},{cin},{hw},{hw}] -> {cout} k{k} s{stride}"
           f"{' g' + str(groups) if groups > 1 else ''}{' silu' if silu else ''}", ms * 1e3, "GFLOP/s", flops / ms / 1e6)
    torch.backends.cudnn.allow_tf32 = False


def conv_half(n, cin, hw, cout, k, stride=1, groups=1, silu=False, dtype="f16"):
    """F.conv2d on cuDNN in float16 / bfloat16 (tensor cores, float32 accumulation), in
    TFLOP/s like bench_cuda's 16-bit rows."""
    x = torch.randn(n, cin, hw, hw, device=dev, dtype=HALF[dtype])
    w = torch.randn(cout, cin // groups, k, k, device=dev, dtype=HALF[dtype]) * 0.05
    bias = torch.randn(cout, device=dev, dtype=HALF[dtype])
    pad = k // 2

    def run():
        y = F.conv2d(x, w, bias, stride=stride, padding=pad, groups=groups)
        return F.silu(y) if silu else y

    ms = time_ms(run, 10)
    out_hw = (hw + 2 * pad - k) // stride + 1
    flops = 2.0 * n * cout * out_hw * out_hw * (cin // groups) * k * k
    report(f"torch conv2d {dtype} [{n},{cin},{hw},{hw}] -> {cout} k{k} s{stride}"
           f"{' g' + str(groups) if groups > 1 else ''}{' silu' if silu else ''}", ms * 1e3, "TFLOP/s", flops / ms / 1e9)


def canny(h, w, cn, aperture=3, l2=False):
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 16, size=(h // 23 + 1, w // 37 + 1, cn), dtype=np.uint8) * 16
    img = np.repeat(np.repeat(blocks, 23, axis=0), 37, axis=1)[:h, :w]
    img = np.ascontiguousarray(img + rng.integers(0, 8, size=img.shape, dtype=np.uint8))
    if cn == 1:
        img = img[:, :, 0].copy()
    cv2.Canny(img, 100, 200, apertureSize=aperture, L2gradient=l2)
    runs, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0 or runs < 3:
        cv2.Canny(img, 100, 200, apertureSize=aperture, L2gradient=l2)
        runs += 1
    ms = (time.perf_counter() - t0) * 1e3 / runs
    report(f"cv2.Canny CPU ({cv2.getNumThreads()} threads) {w}x{h} cn={cn} aperture={aperture} {'L2' if l2 else 'L1'}",
           ms * 1e3, "Mpixel/s", h * w / ms / 1e3)
    if hasattr(cv2, "cuda") and cv2.cuda.getCudaEnabledDeviceCount() > 0 and cn == 1:
        detector = cv2.cuda.createCannyEdgeDetector(100, 200, aperture, l2)
        gpu = cv2.cuda_GpuMat()
        gpu.upload(img)
        detector.detect(gpu)
        t0 = time.perf_counter()
        for _ in range(20):
            detector.detect(gpu)
        ms = (time.perf_counter() - t0) * 1e3 / 20
        report(f"cv2.cuda Canny {w}x{h} cn=1", ms * 1e3, "Mpixel/s", h * w / ms / 1e3)


guarded("memcpy", memcpy)
big = 64 << 20
guarded("ddim", lambda: ddim(big, True, 0.0, True))
guarded("ddim", lambda: ddim(big, True, 1.0, False))
guarded("ddim", lambda: ddim(big, False, 0.0, False))
guarded("ddim", lambda: ddim(2 * 4 * 128 * 128, True, 0.0, True))
for d in (40, 80, 160):
    guarded("attention", lambda: attention(2, 8, 4096, 4096, d))
    guarded("attention", lambda: attention(2, 8, 4096, 77, d))
guarded("attention", lambda: attention(2, 8, 4096, 4096, 80, causal=True))
conv_shapes = [(1, 320, 64, 320, 3), (2, 320, 64, 320, 3, 1, 1, True), (1, 640, 32, 640, 3), (1, 1280, 16, 1280, 3),
               (1, 320, 64, 320, 1), (1, 4, 64, 320, 3), (1, 320, 64, 320, 3, 2), (1, 320, 64, 320, 3, 1, 32)]
for args in conv_shapes:
    guarded("conv2d", lambda: conv(*args))
guarded("conv2d tf32", lambda: conv(1, 320, 64, 320, 3, tf32=True))
# 16-bit rows, the same cases as bench_cuda's (f16 everywhere, bf16 for the main shapes).
for d in (40, 80, 160):
    guarded("attention f16", lambda: attention_half(2, 8, 4096, 4096, d, "f16"))
    guarded("attention f16", lambda: attention_half(2, 8, 4096, 77, d, "f16"))
    guarded("attention bf16", lambda: attention_half(2, 8, 4096, 4096, d, "bf16"))
guarded("attention f16", lambda: attention_half(2, 8, 4096, 4096, 80, "f16", causal=True))
for args in conv_shapes:
    guarded("conv2d f16", lambda: conv_half(*args, dtype="f16"))
for args in [(1, 320, 64, 320, 3), (1, 640, 32, 640, 3)]:
    guarded("conv2d bf16", lambda: conv_half(*args, dtype="bf16"))
for h, w, cn, ap, l2 in [(1080, 1920, 3, 3, False), (2160, 3840, 3, 3, False), (1080, 1920, 1, 3, False),
                         (2160, 3840, 3, 5, True)]:
    guarded("canny", lambda: canny(h, w, cn, ap, l2))
if out:
    out.close()
