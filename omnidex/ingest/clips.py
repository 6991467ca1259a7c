"""Short MP4 clips cut from a stored video with PyAV, copying packets (no re-encode)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from omnidex.errors import CorruptFile


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
