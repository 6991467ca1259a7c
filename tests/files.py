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
