"""Pictures and video: the pipeline against its bare parts, in one run.

Prints:
- images/s through the pipeline (upload → ready, OCR off) vs bare ``encode_images`` on
  already-decoded tensors (target ratio ≥ 0.7), and the share of decode + OCR when OCR is on;
  with OCR on, as today (pictures waiting for Tesseract read in one run) and as before (one
  picture a run);
- keyframe extraction time vs the previous extractor (key frames only, a 32×32 colour grid)
  on the same file (target ≤ 1.5×), vs a bare PyAV key-frame loop and vs a full decode;
- slides found in a deck made from one template (only the body text changes, a key frame
  every 12 s), by the previous extractor and by today's, against the slides there are.

CLIP is ViT-B-32 with random weights: the real architecture and cost, no download.
Run: ``python -m benchmarks.visual --help``.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import av
import httpx
from PIL import Image, ImageDraw, ImageFont

from benchmarks.text_ingest import LiveServer, upload_and_wait
from omnidex.config import Settings
from omnidex.encoders.clip import OpenClipEncoder, load_clip
from omnidex.ingest.video import extract_keyframes
from omnidex.media import ocr
from omnidex.media.images import ENCODE_SIDE, load_image, shrunk
from omnidex.media.ocr import ocr_image
from omnidex.runtime import Runtime
from tests.files import make_slide_deck


def make_images(folder: Path, count: int, rng: random.Random) -> list[Path]:
    font = ImageFont.load_default(size=40)
    paths = []
    for n in range(count):
        image = Image.effect_noise((800, 600), 30 + n % 50).convert("RGB")
        ImageDraw.Draw(image).text((40, 260), f"SLIDE {n} {rng.randint(0, 10**6)}", fill="white", font=font)
        path = folder / f"image-{n:04d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def random_clip(folder: Path) -> OpenClipEncoder:
    import open_clip
    import torch

    torch.manual_seed(0)
    checkpoint = folder / "vit-b-32-random.pt"
    torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(), checkpoint)
    encoder = load_clip("ViT-B-32", str(checkpoint))
    assert isinstance(encoder, OpenClipEncoder), encoder
    return encoder


def pipeline_rate(clip: OpenClipEncoder, paths: list[Path], data_dir: Path, ocr: bool) -> float:
    settings = Settings(data_dir=data_dir, poll_seconds=0.02, ocr=ocr, text_batch_size=32)
    runtime = Runtime(settings, image_encoder=clip)
    try:
        with (
            LiveServer(runtime, workers=settings.workers) as url,
            httpx.Client(base_url=url, timeout=600) as client,
        ):
            started = time.perf_counter()
            docs = upload_and_wait(client, paths)
            elapsed = time.perf_counter() - started
        failed = [d for d in docs if d["status"] != "ready"]
        assert not failed, failed
        return len(paths) / elapsed
    finally:
        runtime.close()


def bench_images(count: int, rng: random.Random) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_images(folder, count, rng)
        clip = random_clip(folder)
        started = time.perf_counter()
        decoded = [load_image(p, 10**9).image for p in paths]
        decode_s = time.perf_counter() - started
        started = time.perf_counter()
        for image in decoded:
            ocr_image(image)
        ocr_s = time.perf_counter() - started
        tensors = [
            clip.preprocess([shrunk(i, ENCODE_SIDE) for i in decoded[s : s + 32]])
            for s in range(0, count, 32)
        ]
        started = time.perf_counter()
        for batch in tensors:
            clip.encode_tensors(batch)
        encode_s = time.perf_counter() - started
        bare = count / encode_s
        singles = [clip.preprocess([shrunk(i, ENCODE_SIDE)]) for i in decoded]
        started = time.perf_counter()
        for single in singles:
            clip.encode_tensors(single)
        bare_one = count / (time.perf_counter() - started)
        no_ocr = pipeline_rate(clip, paths, folder / "data-no-ocr", ocr=False)
        with_ocr = pipeline_rate(clip, paths, folder / "data-ocr", ocr=True)
        batch, ocr.BATCH = ocr.BATCH, 1  # as before: one picture a tesseract run
        try:
            one_a_run = pipeline_rate(clip, paths, folder / "data-ocr-one", ocr=True)
        finally:
            ocr.BATCH = batch
    print(f"\n== images: {count} JPEGs 800×600, CLIP ViT-B-32 (random weights)")
    print(f"bare encode, batches of 32     {bare:8.1f} images/s")
    print(f"bare encode, one at a time     {bare_one:8.1f} images/s   (each image file is its own document)")
    print(f"pipeline, OCR off              {no_ocr:8.1f} images/s   ratio {no_ocr / bare:.2f} vs batches")
    print("                                                  (target ≥ 0.7)")
    print(f"                                                  ratio {no_ocr / bare_one:.2f} vs one at a time")
    print(f"pipeline, OCR on               {with_ocr:8.1f} images/s   ratio {with_ocr / bare:.2f} vs batches")
    print(
        f"  one picture a tesseract run  {one_a_run:8.1f} images/s   "
        f"(as before; OCR on ÷ this {with_ocr / one_a_run:.2f})"
    )
    total = decode_s + ocr_s + encode_s
    shares = f"decode {decode_s / total:.0%}, OCR {ocr_s / total:.0%}, encode {encode_s / total:.0%}"
    print(f"share of bare work: {shares}")


def make_long_video(path: Path, seconds: int, fps: int = 25) -> None:
    """720p slides over a textured background, so key frames cost what real ones do to decode."""
    font = ImageFont.load_default(size=64)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"g": str(fps * 2), "preset": "veryfast"}
        slide_frame = None
        for second in range(seconds):
            if second % 5 == 0:
                slide = second // 5
                tint = Image.new(
                    "RGB", (1280, 720), ((slide * 70) % 256, (slide * 130) % 256, (slide * 40) % 256)
                )
                image = Image.blend(Image.effect_noise((1280, 720), 60).convert("RGB"), tint, 0.6)
                ImageDraw.Draw(image).text((80, 320), f"SLIDE {slide}", fill="white", font=font)
                slide_frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            for _ in range(fps):
                for packet in stream.encode(slide_frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def previous_keyframes(path: Path, max_per_minute: float = 60.0, threshold: float = 0.05) -> list[float]:
    """The extractor before text-aware scenes, as the baseline: key frames only, each compared
    with the scene's by the mean difference of a 32×32 colour grid."""
    import numpy as np

    times: list[float] = []
    reference = None
    per_minute: dict[int, int] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            probe = frame.reformat(width=32, height=32, format="rgb24").to_ndarray().astype(np.float32) / 255
            new = reference is None or float(np.abs(probe - reference).mean()) > threshold
            if not new or per_minute.get(int(t // 60), 0) >= max_per_minute:
                continue
            per_minute[int(t // 60)] = per_minute.get(int(t // 60), 0) + 1
            frame.to_image()
            times.append(t)
            reference = probe
    return times


def bench_video(seconds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "talk.mp4"
        make_long_video(path, seconds)

        def bare_keyframes() -> int:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.codec_context.skip_frame = "NONKEY"
                return sum(1 for _ in container.decode(stream))

        def full_decode() -> int:
            with av.open(str(path)) as container:
                return sum(1 for _ in container.decode(video=0))

        def ours() -> int:
            return sum(1 for _ in extract_keyframes(path, max_per_minute=60))

        timings = {}
        for name, fn in (
            ("bare PyAV key-frame loop", bare_keyframes),
            ("previous extractor", lambda: len(previous_keyframes(path))),
            ("extract_keyframes", ours),
            ("full decode", full_decode),
        ):
            fn()
            started = time.perf_counter()
            count = fn()
            timings[name] = (time.perf_counter() - started, count)
        deck = template_deck(Path(tmp))
    print(f"\n== video: {seconds} s, 720p, 25 fps, a key frame every 2 s, a new slide every 5 s")
    for name, (elapsed, count) in timings.items():
        print(
            f"{name:26s} {elapsed * 1000:8.1f} ms  {seconds / elapsed:8.1f}× real time  ({count} frames out)"
        )
    bare, before, ours_s, full = (
        timings[n][0]
        for n in ("bare PyAV key-frame loop", "previous extractor", "extract_keyframes", "full decode")
    )
    print(f"extract_keyframes / previous extractor time  {ours_s / before:.2f} (target ≤ 1.5)")
    print(f"extract_keyframes / bare loop speed          {bare / ours_s:.2f}")
    print(f"key frames only vs full decode               {full / bare:.1f}× faster")
    slides, found_before, found_now = deck
    print(f"template deck: {slides} slides; found by the previous extractor {found_before}, now {found_now}")


def template_deck(folder: Path) -> tuple[int, int, int]:
    """A deck whose slides differ only in their body text; key frames every 12 s."""
    bodies = [
        [f"Quarter {n}: revenue {40 + 3 * n}.{n} million", f"Staff: {120 + n * 7}"] for n in range(1, 13)
    ]
    path = make_slide_deck(folder / "deck.mp4", bodies, [5.0] * len(bodies), size=(1280, 720))
    now = list(extract_keyframes(path, max_per_minute=60, read_text=ocr_image))
    return len(bodies), len(previous_keyframes(path)), len(now)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--video-seconds", type=int, default=300)
    args = parser.parse_args()
    bench_video(args.video_seconds)
    bench_images(args.images, random.Random(3))


if __name__ == "__main__":
    main()
