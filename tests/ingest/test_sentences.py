"""unstructured sorts titles from prose by counting sentences and looking for verbs. omnidex
counts sentences with spaCy's rule-based sentencizer rather than the dependency parser: the
parser is never loaded, and paragraphs and headings are told apart as before."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("unstructured")

from omnidex.ingest.documents import _prepare_unstructured


def test_headings_and_paragraphs_are_told_apart_without_the_parser(tmp_path: Path) -> None:
    _prepare_unstructured()
    import unstructured.nlp.tokenize as tokenize
    from unstructured.partition.text import partition_text

    assert "parser" not in tokenize._get_nlp().pipe_names
    assert tokenize.sent_tokenize("The ferry left at seven. It came back at nine! Did it rain?") == [
        "The ferry left at seven.",
        "It came back at nine!",
        "Did it rain?",
    ]
    path = tmp_path / "notes.txt"
    hours = "The library opens at nine on weekdays. On Saturdays it opens at ten and closes at four."
    path.write_text(
        "Opening Hours\n\n"
        f"{hours}\n\n"
        "Borrowing\n\n"
        "Members borrow six books at a time.\n\n"
        "Late Returns And Fines For Adults\n"
    )
    kinds = [(element.category, element.text) for element in partition_text(filename=str(path))]
    assert kinds == [
        ("Title", "Opening Hours"),
        (
            "NarrativeText",
            "The library opens at nine on weekdays. On Saturdays it opens at ten and closes at four.",
        ),
        ("Title", "Borrowing"),
        ("NarrativeText", "Members borrow six books at a time."),
        ("Title", "Late Returns And Fines For Adults"),
    ]
