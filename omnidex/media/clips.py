"""Clips cut with PyAV: MP4 stretches of a video (packets copied, no re-encode) and WAV stretches of sound."""

from __future__ import annotations

import tempfile
from pathlib import Path

from omnidex.errors import CorruptFile, UnsupportedType
from omnidex.media.audio import NO_AUDIO

MODEL_AUDIO_RATE = 16_000  # what Qwen3-Omni's audio encoder listens at


def cut_clip(source: Path, start: float, seconds: float) -> Path:
    """A temporary MP4 holding ``seconds`` of ``source`` from the key frame at or before ``start``.

    The caller deletes the file. Streams are copied as they are, so the cut
    snaps back to a key frame: the clip starts a little early, never late.
    """
    import av

    with tempfile.NamedTemporaryFile(prefix="omnidex-clip-", suffix=".mp4", delete=False) as handle:
        target = Path(handle.name)
    try:
        with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
            video = inp.streams.video[0]
            streams = [video, *inp.streams.audio[:1]]
            mapping = {s.index: out.add_stream_from_template(s) for s in streams}
            if video.time_base is None:
                raise CorruptFile("this video has no time base to cut by")
            inp.seek(int(start / float(video.time_base)), stream=video, backward=True)
            first: dict[int, int] = {}
            for packet in inp.demux(streams):
                if packet.dts is None or packet.pts is None:
                    continue
                if (
                    packet.stream.index == video.index
                    and float(packet.pts * packet.time_base) > start + seconds
                ):
                    break
                offset = first.setdefault(packet.stream.index, packet.dts)
                packet.pts -= offset
                packet.dts -= offset
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
    except av.error.FFmpegError as exc:
        target.unlink(missing_ok=True)
        raise CorruptFile(f"could not cut a clip from this video: {exc}") from exc
    return target


def cut_audio(
    source: Path, start: float, seconds: float, *, rate: int | None = None, mono: bool = False
) -> Path:
    """A temporary WAV of exactly ``seconds`` of ``source``'s first audio track from ``start``.

    Audio is decoded and cut to the sample, so the clip's length matches the
    segment; it keeps the track's rate and channels unless ``rate``/``mono``
    say otherwise. The caller deletes the file.
    """
    import av
    import numpy as np
    from av.audio.resampler import AudioResampler

    with tempfile.NamedTemporaryFile(prefix="omnidex-audio-", suffix=".wav", delete=False) as handle:
        target = Path(handle.name)
    try:
        with av.open(str(source)) as inp:
            if not inp.streams.audio:
                raise UnsupportedType(NO_AUDIO)
            stream = inp.streams.audio[0]
            rate = rate or stream.codec_context.sample_rate or 16_000
            layout = "mono" if mono or (stream.codec_context.channels or 1) == 1 else "stereo"
            resampler = AudioResampler(format="s16", layout=layout, rate=rate)
            if start > 1:
                inp.seek(int((start - 1) * 1_000_000), backward=True)  # container time base: µs
            first, wanted = round(start * rate), round(seconds * rate)
            pieces: list[np.ndarray] = []
            have = 0
            for frame in inp.decode(stream):
                begin = round(float(frame.time or 0.0) * rate)
                for out in resampler.resample(frame):
                    samples = out.to_ndarray()  # (1, samples * channels), interleaved
                    channels = 1 if layout == "mono" else 2
                    samples = samples.reshape(-1, channels)
                    skip = max(0, first - begin)
                    begin += samples.shape[0]
                    piece = samples[skip:]
                    pieces.append(piece[: wanted - have])
                    have += len(pieces[-1])
                if have >= wanted:
                    break
        audio = np.concatenate(pieces) if pieces else np.zeros((0, 1), dtype=np.int16)
        with av.open(str(target), "w", format="wav") as out_container:
            out_stream = out_container.add_stream("pcm_s16le", rate=rate, layout=layout)
            frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="s16", layout=layout)
            frame.sample_rate = rate
            for packet in out_stream.encode(frame):
                out_container.mux(packet)
            for packet in out_stream.encode(None):
                out_container.mux(packet)
    except av.error.FFmpegError as exc:
        target.unlink(missing_ok=True)
        raise CorruptFile(f"could not cut a clip from this recording: {exc}") from exc
    return target


def clip_wav(source: Path, start: float, seconds: float) -> tuple[bytes, float]:
    """``seconds`` of ``source`` from ``start`` as 16 kHz mono WAV bytes, and the clip's real length."""
    path = cut_audio(source, start, seconds, rate=MODEL_AUDIO_RATE, mono=True)
    try:
        data = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    frames = max(0, len(data) - 44) // 2
    if frames == 0:
        raise CorruptFile("there is no sound in that stretch")
    return data, frames / MODEL_AUDIO_RATE
