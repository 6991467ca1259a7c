"""Test documents made on the spot: real PDF, DOCX, PPTX, HTML, Markdown and text files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF with one list of paragraphs per page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story: list[object] = []
    for number, paragraphs in enumerate(pages):
        if number:
            story.append(PageBreak())
        story.extend(Paragraph(text, styles["BodyText"]) for text in paragraphs)
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def make_docx(path: Path, title: str, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    document.save(str(path))
    return path


def make_pptx(path: Path, slides: list[tuple[str, str]]) -> Path:
    from pptx import Presentation

    presentation = Presentation()
    for title, body in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    presentation.save(str(path))
    return path


def truncate(source: Path, target: Path, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def make_corrupt_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    return path


def make_binary(path: Path, size: int = 4096) -> Path:
    # Deterministic bytes that no format claims.
    path.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(size)))
    return path


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_picture(text: str, size: tuple[int, int] = (480, 240), background: str = "white"):  # type: ignore[no-untyped-def]
    """A picture with large printed words, readable by OCR."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.text((20, size[1] // 2 - 30), text, fill="black", font=ImageFont.load_default(size=48))
    return image


def make_video(
    path: Path, slides: list[tuple[str, str, float]], fps: int = 10, size: tuple[int, int] = (320, 240)
) -> Path:
    """An H.264 MP4 of coloured slides, each (colour, printed word, seconds), encoded with PyAV."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(fps), "preset": "ultrafast"}  # a key frame every second
        for colour, word, seconds in slides:
            picture = make_picture(word, size, colour)
            for _ in range(round(seconds * fps)):
                for packet in stream.encode(av.VideoFrame.from_image(picture)):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def speak(text: str, rate: int = 16_000):  # type: ignore[no-untyped-def]
    """Speech from Debian's espeak-ng, as float32 mono samples at ``rate``."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        subprocess.run(["espeak-ng", "-s", "150", "-w", handle.name, text], check=True)
        return read_audio(Path(handle.name), rate)


def read_audio(path: Path, rate: int = 16_000):  # type: ignore[no-untyped-def]
    import av
    import numpy as np
    from av.audio.resampler import AudioResampler

    resampler = AudioResampler(format="flt", layout="mono", rate=rate)
    pieces = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(pieces)


def recording(pieces: list[tuple[float, object]], seconds: float, rate: int = 16_000):  # type: ignore[no-untyped-def]
    """Samples of ``seconds`` of quiet with each (offset, samples) placed at its offset."""
    import numpy as np

    out = np.zeros(int(seconds * rate), dtype=np.float32)
    for offset, samples in pieces:
        start = int(offset * rate)
        chunk = np.asarray(samples, dtype=np.float32)[: len(out) - start]
        out[start : start + len(chunk)] += chunk
    return out


def tone(seconds: float, hz: float = 440.0, rate: int = 16_000):  # type: ignore[no-untyped-def]
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


AUDIO_FORMATS = {
    "wav": ("wav", "pcm_s16le", 16_000),
    "mp3": ("mp3", "libmp3lame", 22_050),
    "flac": ("flac", "flac", 16_000),
    "ogg": ("ogg", "libopus", 48_000),
    "m4a": ("ipod", "aac", 22_050),
    "webm": ("webm", "libopus", 48_000),
}


def write_audio(path: Path, samples, rate: int = 16_000) -> Path:  # type: ignore[no-untyped-def]
    """Encode mono float samples into the container and codec that ``path``'s suffix names."""
    import av
    import numpy as np
    from av.audio.resampler import AudioResampler

    container_format, codec, out_rate = AUDIO_FORMATS[path.suffix.lstrip(".")]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=out_rate, layout="mono")
        resampler = AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
        block = rate  # one second at a time
        data = np.asarray(samples, dtype=np.float32)
        for start in range(0, len(data), block):
            frame = av.AudioFrame.from_ndarray(
                data[start : start + block].reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = rate
            for out in resampler.resample(frame):
                for packet in stream.encode(out):
                    container.mux(packet)
        for out in resampler.resample(None):
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def mux(video: Path, audio: Path, target: Path) -> None:
    """Copy the streams of a silent video and a narration into one MP4 (PyAV, no re-encode)."""
    import av

    with av.open(str(video)) as v, av.open(str(audio)) as a, av.open(str(target), "w") as out:
        streams = {id(v.streams.video[0]): out.add_stream_from_template(v.streams.video[0])}
        streams[id(a.streams.audio[0])] = out.add_stream_from_template(a.streams.audio[0])
        for source in (v.streams.video[0], a.streams.audio[0]):
            for packet in source.container.demux(source):
                if packet.dts is None:
                    continue
                packet.stream = streams[id(source)]
                out.mux(packet)


def make_slide_deck(  # type: ignore[no-untyped-def]
    path: Path,
    bodies: list[list[str]],
    seconds: list[float],
    *,
    title: str = "Harbour Authority Annual Review",
    key_seconds: float = 12.0,
    fps: int = 10,
    size: tuple[int, int] = (960, 540),
    theme: tuple[str, str] = ("#f4f1e8", "#1f3b5c"),
):
    """An H.264 MP4 of slides made from one template: the same background, header and footer on
    every slide, only the body's lines change. Key frames come every ``key_seconds`` (with no
    extra ones at cuts), as screen recorders and web encoders often place them."""
    import av
    from PIL import Image, ImageDraw, ImageFont

    background, ink = theme
    width, height = size
    heading, text, small = (ImageFont.load_default(size=s) for s in (36, 30, 18))

    def slide(lines: list[str]) -> Image.Image:
        image = Image.new("RGB", size, background)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 70), fill=ink)
        draw.text((30, 16), title, fill="white", font=heading)
        draw.rectangle((0, height - 40, width, height), fill=ink)
        draw.text(
            (30, height - 32), "harbour-authority.example  ·  public briefing", fill="white", font=small
        )
        for row, line in enumerate(lines):
            draw.text((60, 110 + row * 52), line, fill=ink, font=text)
        return image

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        key = str(round(key_seconds * fps))
        stream.options = {"g": key, "keyint_min": key, "sc_threshold": "0", "preset": "veryfast"}
        for lines, duration in zip(bodies, seconds, strict=True):
            frame = av.VideoFrame.from_image(slide(lines))
            for _ in range(round(duration * fps)):
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_object_storm_pdf(path: Path, objects: int = 30_000) -> Path:
    """A small PDF with ``objects`` tiny text objects on one page: cheap to make, slow to lay out."""
    import random

    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=(600, 800))
    rnd = random.Random(1)
    pdf.setFont("Helvetica", 2)
    for n in range(objects):
        pdf.drawString(rnd.uniform(0, 590), rnd.uniform(0, 790), f"x{n % 97}")
    pdf.save()
    return path


def make_single_line_text(path: Path, mib: int = 20) -> Path:
    """``mib`` MiB of words with no line break."""
    words = b"alpha beta gamma delta omega "
    with path.open("wb") as out:
        for _ in range(mib * 2**20 // len(words)):
            out.write(words)
    return path
