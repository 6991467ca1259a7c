"""Relevance in words: a real question's passage is a strong match, nonsense is no match at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidex.ingest.intake import add_file
from omnidex.ingest.worker import Worker
from omnidex.retrieval.relevance import Relevance
from omnidex.runtime import Runtime
from tests.files import make_pdf

NONSENSE = ["xyzzy plover quantum", "zorblax frindle mook", "who won the 1998 world cup"]


@pytest.fixture
def library(runtime: Runtime, tmp_path: Path) -> Runtime:
    files = [
        make_pdf(tmp_path / "water.pdf", [["Ashford's tap water is hard: 310 mg of calcium a litre."]]),
        make_pdf(tmp_path / "bins.pdf", [["Green bins are collected every second Tuesday in Dunmore."]]),
        make_pdf(tmp_path / "trains.pdf", [["The last train to Kelby leaves the station at 23:40."]]),
    ]
    for path in files:
        add_file(runtime.db, runtime.blobs, path, "default")
    worker = Worker(runtime.db, runtime.pipeline)
    while worker.run_once():
        pass
    return runtime


def test_a_question_matches_strongly_and_nonsense_matches_nothing(library: Runtime) -> None:
    found = library.retriever.search("default", "How hard is the water in Ashford?", top_k=3).hits
    assert found[0].source == "water.pdf"
    assert found[0].relevance == "strong"
    assert found[0].scores is not None
    assert found[0].scores["text"] > 0.5  # the raw cosine, kept beside the fused score
    assert found[0].scores["sparse"] > 0
    for query in NONSENSE:
        hits = library.retriever.search("default", query, top_k=3).hits
        assert hits, "fusion still ranks something"
        assert {hit.relevance for hit in hits} == {"none"}, (query, [hit.scores for hit in hits])


def test_a_word_the_chosen_document_lacks_is_no_match(library: Runtime) -> None:
    bins = library.retriever.search("default", "green bins", top_k=1).hits[0]
    within = library.retriever.search("default", "zebra migration", top_k=5, doc_ids=[bins.doc_id]).hits
    assert within
    assert {hit.relevance for hit in within} == {"none"}


@pytest.mark.parametrize(
    ("scores", "label"),
    [
        ({"text": 0.62}, "strong"),
        ({"text": 0.40, "sparse": 4.0}, "strong"),  # close in meaning, and its words are there
        ({"text": 0.29, "sparse": 11.5}, "strong"),  # the question's rare words are there
        ({"text": 0.30}, "weak"),
        ({"text": 0.10, "sparse": 3.8}, "weak"),  # a word matches, the meaning does not
        ({"text": 0.2, "sentence": 0.55}, "strong"),  # a speech hit's best sentence answers
        ({"image": 0.30}, "strong"),
        ({"image": 0.23}, "weak"),
        ({"text": 0.17}, "none"),
        ({}, "none"),
    ],
)
def test_the_labels(scores: dict[str, float], label: str) -> None:
    assert Relevance().label(scores) == label
