"""Type detection trusts the bytes, not the name."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.errors import EmptyFile, UnsupportedType
from omnidex.ingest.sniff import DOCX, sniff
from omnidex.types import Modality
from tests.files import make_binary, make_docx, make_pdf, truncate


def test_pdf_with_a_wrong_name(tmp_path: Path) -> None:
    found = sniff(make_pdf(tmp_path / "photo.jpg", [["hello"]]), "photo.jpg")
    assert (found.mime, found.modality) == ("application/pdf", Modality.TEXT)


def test_docx_and_markdown(tmp_path: Path) -> None:
    assert sniff(make_docx(tmp_path / "a.docx", "T", ["p"]), "renamed.bin").mime == DOCX
    markdown = tmp_path / "r.md"
    markdown.write_text("# Title\n\nSome *text*.\n")
    assert sniff(markdown, "r.md").mime == "text/markdown"
    assert sniff(markdown, "r.txt").mime == "text/plain"


def test_truncated_docx_is_still_a_docx_to_be_refused_by_its_parser(tmp_path: Path) -> None:
    cut = truncate(make_docx(tmp_path / "a.docx", "T", ["x" * 5000]), tmp_path / "cut.docx")
    assert sniff(cut, "cut.docx").mime == DOCX


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "e.pdf"
    empty.write_bytes(b"")
    with pytest.raises(EmptyFile, match="empty"):
        sniff(empty, "e.pdf")


def test_unknown_binary_named_pdf(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedType, match=r"unrecognised binary data.*supported types: PDF"):
        sniff(make_binary(tmp_path / "x.pdf"), "x.pdf")


def test_executable_is_unsupported(tmp_path: Path) -> None:
    elf = tmp_path / "tool.pdf"
    elf.write_bytes(Path("/bin/sh").read_bytes()[:65536])
    with pytest.raises(UnsupportedType, match="unsupported file type"):
        sniff(elf, "tool.pdf")
