"""Speech: the audio pipeline against a bare faster-whisper run, and its memory on a long recording.

Prints:
- the real-time factor of the whole pipeline (upload → ready) vs a bare ``transcribe()``
  on the same file, with the same model, threads and options (target ratio ≤ 1.15);
- the peak memory (RSS) of a process that ingests a 30-minute generated recording
  (target < 1.5 GB), next to its memory before ingesting.

Run: ``python -m benchmarks.audio --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx

from benchmarks.text_ingest import LiveServer, upload_and_wait
from omnidex.config import Settings
from omnidex.encoders.asr import WhisperTranscriber, resolve_asr_model
from omnidex.runtime import Runtime
from tests.files import recording, speak, write_audio

SENTENCES = [
    "Welcome back to the programme on coastal weather and the fishing fleet.",
    "The harbour master reported strong winds from the north east this morning.",
    "Several boats returned early with smaller catches than last week.",
    "Tomorrow the forecast promises calmer seas and bright sunshine.",
    "Listeners have written in about the lighthouse restoration project.",
    "The committee expects the work to be finished before the winter storms.",
]


def make_recording(path: Path, minutes: float) -> Path:
    """Speech every ~12 s with pauses between, for ``minutes`` minutes."""
    voices = [speak(text) for text in SENTENCES]
    seconds = minutes * 60
    pieces = [(offset, voices[n % len(voices)]) for n, offset in enumerate(range(2, int(seconds) - 10, 12))]
    return write_audio(path, recording(pieces, seconds))


def bare_transcribe(path: Path, threads: int) -> float:
    from faster_whisper import WhisperModel

    model = WhisperModel(resolve_asr_model("tiny.en-packaged"), compute_type="int8", cpu_threads=threads)
    started = time.perf_counter()
    segments, _ = model.transcribe(
        str(path), language="en", vad_filter=True, condition_on_previous_text=False, beam_size=1
    )
    count = sum(1 for _ in segments)
    elapsed = time.perf_counter() - started
    print(f"bare transcribe(): {count} segments")
    return elapsed


def pipeline_seconds(path: Path, threads: int, data_dir: Path) -> float:
    settings = Settings(
        data_dir=data_dir, workers=1, poll_seconds=0.05, asr_threads=threads, visual_search=False
    )
    runtime = Runtime(settings, transcriber=WhisperTranscriber(cpu_threads=threads))
    try:
        with LiveServer(runtime, workers=1) as url, httpx.Client(base_url=url, timeout=3600) as client:
            started = time.perf_counter()
            [doc] = upload_and_wait(client, [path])
            elapsed = time.perf_counter() - started
        assert doc["status"] == "ready", doc
        print(f"pipeline: {doc['item_count']} speech items")
        return elapsed
    finally:
        runtime.close()


MEMORY_PROBE = """
import json, os, resource, sys
from pathlib import Path
from omnidex.config import Settings
from omnidex.ingest.intake import add_file
from omnidex.runtime import Runtime
runtime = Runtime(Settings(data_dir=Path(sys.argv[2]), workers=0, visual_search=False))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
add_file(runtime.db, runtime.blobs, Path(sys.argv[1]), "default")
runtime.make_worker().run_once()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "peak_kib": peak}))
runtime.close()
"""


def peak_memory(path: Path, data_dir: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path), str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes", type=float, default=5, help="length of the recording timed against bare Whisper"
    )
    parser.add_argument(
        "--memory-minutes", type=float, default=30, help="length of the recording for peak memory"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        short = make_recording(folder / "programme.mp3", args.minutes)
        seconds = args.minutes * 60
        bare = bare_transcribe(short, args.threads)
        ours = pipeline_seconds(short, args.threads, folder / "data")
        print(f"\n== speech: {args.minutes:g} min MP3, Whisper tiny.en int8, {args.threads} threads, VAD on")
        print(f"bare faster-whisper transcribe()   {bare:7.1f} s   real-time factor {bare / seconds:.3f}")
        print(f"pipeline (upload → ready)          {ours:7.1f} s   real-time factor {ours / seconds:.3f}")
        print(f"ratio pipeline / bare              {ours / bare:7.2f}   (target ≤ 1.15)")
        long = make_recording(folder / "long.mp3", args.memory_minutes)
        memory = peak_memory(long, folder / "data-memory")
        print(f"\n== memory: ingesting a {args.memory_minutes:g} min recording in one process")
        print(f"RSS after start-up (models loaded)  {memory['before_kib'] / 1024:7.0f} MiB")
        print(
            f"peak RSS while ingesting            {memory['peak_kib'] / 1024:7.0f} MiB   (target < 1536 MiB)"
        )


if __name__ == "__main__":
    main()
