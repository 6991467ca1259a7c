"""Speech: the audio pipeline against a bare faster-whisper run, and its memory on a long recording.

Prints:
- the real-time factor of the whole pipeline (claim → ready) vs a bare ``transcribe()``
  on the same file, with the same model, threads and options, word times included (target
  ratio ≤ 1.15), and what word times cost against a bare run with segment times only;
- the peak memory (RSS) of a process that ingests a 30-minute generated recording
  (target ≤ 1 GB), next to its memory before ingesting.

Run: ``python -m benchmarks.audio --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from omnidex.config import Settings
from omnidex.db import documents
from omnidex.encoders.whisper import WhisperTranscriber, resolve_asr_model
from omnidex.ingest.intake import add_file, remove_document
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
    pieces: list[tuple[float, object]] = [
        (offset, voices[n % len(voices)]) for n, offset in enumerate(range(2, int(seconds) - 10, 12))
    ]
    return write_audio(path, recording(pieces, seconds))


def bare_transcribe(model: object, path: Path, *, word_timestamps: bool = True) -> float:
    """A bare ``transcribe()`` with the pipeline's options (word times on, for its sentences)."""
    started = time.perf_counter()
    segments, _ = model.transcribe(  # type: ignore[attr-defined]
        str(path),
        language="en",
        vad_filter=True,
        condition_on_previous_text=False,
        beam_size=1,
        word_timestamps=word_timestamps,
    )
    sum(1 for _ in segments)
    return time.perf_counter() - started


def pipeline_seconds(runtime: Runtime, path: Path) -> float:
    """Claim → ready of one upload: decode, VAD, Whisper, grouping, text and BM25 encoding, storage."""
    doc = add_file(runtime.db, runtime.blobs, path, "default").document
    started = time.perf_counter()
    runtime.make_worker().run_once()
    elapsed = time.perf_counter() - started
    row = documents.get_document(runtime.db, "default", doc.id)
    assert row.status == "ready", row.error
    remove_document(runtime.db, runtime.store, runtime.blobs, "default", doc.id)
    return elapsed


MEMORY_PROBE = """
import json, sys
from pathlib import Path
from omnidex.config import Settings
from omnidex.ingest.intake import add_file
from omnidex.runtime import Runtime

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

runtime = Runtime(Settings(data_dir=Path(sys.argv[2]), workers=0, visual_search=False))
startup_peak = status("VmHWM:")
open("/proc/self/clear_refs", "w").write("5")  # restart the peak from the current size
before = status("VmRSS:")
add_file(runtime.db, runtime.blobs, Path(sys.argv[1]), "default")
runtime.make_worker().run_once()
print(json.dumps({"startup_peak_kib": startup_peak, "before_kib": before, "peak_kib": status("VmHWM:")}))
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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        short = make_recording(folder / "programme.mp3", args.minutes)
        seconds = args.minutes * 60
        from faster_whisper import WhisperModel

        model = WhisperModel(
            resolve_asr_model("tiny.en-packaged"), compute_type="int8", cpu_threads=args.threads
        )
        settings = Settings(data_dir=folder / "data", workers=0, visual_search=False)
        runtime = Runtime(settings, transcriber=WhisperTranscriber(cpu_threads=args.threads))
        runtime.text_encoder.encode(["warm up"])  # a first start's export is no ingest time
        try:
            bare_runs, segment_runs, our_runs = [], [], []
            for _ in range(args.rounds):  # alternated, so drift on a shared machine hits both
                bare_runs.append(bare_transcribe(model, short))
                segment_runs.append(bare_transcribe(model, short, word_timestamps=False))
                our_runs.append(pipeline_seconds(runtime, short))
        finally:
            runtime.close()
        bare, ours = statistics.median(bare_runs), statistics.median(our_runs)
        segments_only = statistics.median(segment_runs)
        print(f"\n== speech: {args.minutes:g} min MP3, Whisper tiny.en int8, {args.threads} threads, VAD on,")
        print(f"   median of {args.rounds} alternated rounds")
        print(f"bare faster-whisper transcribe()   {bare:7.1f} s   real-time factor {bare / seconds:.3f}")
        print(f"pipeline (claim → ready)           {ours:7.1f} s   real-time factor {ours / seconds:.3f}")
        print(f"ratio pipeline / bare              {ours / bare:7.2f}   (target ≤ 1.15)")
        cost = bare / segments_only
        print(f"bare, segment times only           {segments_only:7.1f} s   (word times cost ×{cost:.2f})")
        print(f"ratio pipeline / bare without word times  {ours / segments_only:.2f}")
        long = make_recording(folder / "long.mp3", args.memory_minutes)
        memory = peak_memory(long, folder / "data-memory")
        print(f"\n== memory: ingesting a {args.memory_minutes:g} min recording in one process")
        mib = {key: value / 1024 for key, value in memory.items()}
        print(f"peak RSS of start-up (models loaded)  {mib['startup_peak_kib']:7.0f} MiB")
        print(f"RSS before ingesting                  {mib['before_kib']:7.0f} MiB")
        print(f"peak RSS while ingesting              {mib['peak_kib']:7.0f} MiB   (target ≤ 1024 MiB)")
        print(f"growth while ingesting                {mib['peak_kib'] - mib['before_kib']:7.0f} MiB")


if __name__ == "__main__":
    main()
