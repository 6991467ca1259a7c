"""Think, talk or auto: the reasoning model's reasoning streams apart and never enters the answer.

Fake servers replay recorded transcripts (tests/transcripts/vllm-reasoning.sse,
dashscope-thinking.sse) over real HTTP; retrieval is real, over generated reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from omnidex.answering.modes import pick_mode
from omnidex.runtime import Runtime
from omnidex.types import Hit, ItemKind, Modality
from tests.api.test_answer import ready_client, sse_events
from tests.files import make_pdf
from tests.omni_fakes import FakeOmni, Script

Start = Callable[[str], FakeOmni]
MakeRuntime = Callable[..., Runtime]
TRANSCRIPTS = Path(__file__).parents[1] / "transcripts"
ANSWER = "The northern report shows the larger rise: 7 % against 4 % [2][1], so 3 points more."
REASONING = "Source [1] gives a rise of 4 % in 2024, source [2] 7 %. Source [3] is about staffing"
COMPARISON = "Which region's report shows the larger rise in sales, and by how much?"
LOOKUP = "What happened to sales in the northern region in 2024?"


@pytest.fixture
def reports(tmp_path: Path) -> list[Path]:
    north = make_pdf(tmp_path / "north.pdf", [["Sales in the northern region rose by 7 percent in 2024."]])
    south = make_pdf(tmp_path / "south.pdf", [["Sales in the southern region rose by 4 percent in 2024."]])
    staff = make_pdf(tmp_path / "staff.pdf", [["The southern region hired twelve new sales staff."]])
    return [north, south, staff]


def reasoning_server(omni: Start, flavor: str) -> FakeOmni:
    fake = omni(flavor)
    if flavor == "dashscope":
        fake.script = Script(thinking=TRANSCRIPTS / "dashscope-thinking.sse")
    else:
        fake.script = Script(replay=TRANSCRIPTS / "vllm-reasoning.sse")
    return fake


def think_settings(flavor: str, fake: FakeOmni) -> dict[str, str]:
    if flavor == "dashscope":  # the generator's own model reasons when asked
        return {"generator": "dashscope", "generator_url": fake.url}
    return {
        "generator": flavor,
        "generator_url": fake.url,
        "reasoning_model": "Qwen/Qwen3-Omni-30B-A3B-Thinking",
    }


@pytest.mark.parametrize("flavor", ["vllm-omni", "dashscope", "openai"])
def test_reasoning_streams_apart_and_never_enters_the_answer(
    omni: Start, make_runtime: MakeRuntime, reports: list[Path], flavor: str
) -> None:
    fake = reasoning_server(omni, flavor)
    with ready_client(make_runtime(**think_settings(flavor, fake)), *reports) as client:
        streamed = client.post("/v1/answer", json={"query": COMPARISON, "mode": "think", "stream": True})
        whole = client.post("/v1/answer", json={"query": COMPARISON, "mode": "think"}).json()
        assert client.get("/v1/info").json()["thinking"]["enabled"] is True
        question = [{"role": "user", "content": COMPARISON}]
        chat = client.post(
            "/v1/chat/completions", json={"model": "omnidex-think", "stream": True, "messages": question}
        )
    events = sse_events(streamed.text)
    names = [name for name, _ in events]
    assert names[0] == "retrieval"
    assert names.index("thinking") < names.index("text") < names.index("citations") < names.index("done")
    thought = "".join(data["text"] for name, data in events if name == "thinking")
    written = "".join(data["text"] for name, data in events if name == "text")
    assert thought.startswith(REASONING)
    assert written == ANSWER
    done = events[-1][1]
    assert done["answer"] == ANSWER
    assert done["mode"] == "think"
    assert "first_thinking_ms" in done["timings_ms"]
    assert "staffing" not in json.dumps([data for name, data in events if name != "thinking"])
    cited = next(data for name, data in events if name == "citations")["citations"]
    assert sorted(c["number"] for c in cited) == [1, 2]  # the reasoning's [3] is no citation

    assert whole["answer"] == ANSWER
    assert whole["thinking"].startswith(REASONING)
    assert whole["mode"] == "think"
    assert sorted(c["number"] for c in whole["citations"]) == [1, 2]

    lines = chat.text.splitlines()
    deltas = [json.loads(line[6:])["choices"] for line in lines if line.startswith("data: {")]
    reasoning = "".join(c[0]["delta"].get("reasoning", "") for c in deltas if c)
    content = "".join(c[0]["delta"].get("content") or "" for c in deltas if c)
    assert reasoning.startswith(REASONING)
    assert content == ANSWER

    asked = fake.requests[0]
    if flavor == "dashscope":
        assert asked["enable_thinking"] is True
        assert asked["modalities"] == ["text"]
    else:
        assert asked["model"] == "Qwen/Qwen3-Omni-30B-A3B-Thinking"
        assert "enable_thinking" not in asked


def test_older_vllm_reasoning_content_is_read_once(
    omni: Start, make_runtime: MakeRuntime, reports: list[Path], tmp_path: Path
) -> None:
    # vLLM before 0.11 named the field reasoning_content; some releases send both names.
    recorded = (TRANSCRIPTS / "vllm-reasoning.sse").read_text()
    older = tmp_path / "older.sse"
    older.write_text(recorded.replace('{"reasoning":', '{"reasoning":null,"reasoning_content":'))
    both = tmp_path / "both.sse"
    twice = '{"reasoning":"Source","reasoning_content":"Source"'
    both.write_text(recorded.replace('{"reasoning":"Source"', twice))
    fake = omni("openai")
    with ready_client(make_runtime(**think_settings("openai", fake)), *reports) as client:
        for transcript in (older, both):
            fake.script = Script(replay=transcript)
            body = client.post("/v1/answer", json={"query": COMPARISON, "mode": "think"}).json()
            assert body["thinking"].startswith(REASONING), transcript.name
            assert body["answer"] == ANSWER


@pytest.mark.parametrize("flavor", ["vllm-omni", "dashscope"])
def test_a_reasoned_answer_is_spoken_once_written(
    omni: Start, make_runtime: MakeRuntime, reports: list[Path], flavor: str
) -> None:
    talker = omni(flavor)
    if flavor == "dashscope":
        talker.script = Script(thinking=TRANSCRIPTS / "dashscope-thinking.sse", text="Seven against four.")
        settings = think_settings(flavor, talker)
    else:
        talker.script = Script(text="Seven against four.")
        thinker = reasoning_server(omni, "vllm-omni")
        settings = {**think_settings(flavor, talker), "reasoning_url": thinker.url}
    with ready_client(make_runtime(**settings), *reports) as client:
        body = {"query": COMPARISON, "mode": "think", "speak": True, "stream": True}
        events = sse_events(client.post("/v1/answer", json=body).text)
    names = [name for name, _ in events]
    assert "error" not in names, events
    assert names.index("thinking") < names.index("text") < names.index("audio")
    last_text = max(i for i, name in enumerate(names) if name == "text")
    assert min(i for i, name in enumerate(names) if name == "audio") > last_text
    done = events[-1][1]
    assert done["answer"] == ANSWER
    assert done["timings_ms"]["speech_after_answer_ms"] >= done["timings_ms"]["first_token_ms"]
    spoken = talker.requests[-1]
    assert "audio" in spoken["modalities"]
    assert "enable_thinking" not in spoken
    said = json.dumps(spoken["messages"])
    assert "7 % against 4 %" in said  # the written answer, read aloud…
    assert "[2]" not in said  # …without marks…
    assert "staffing" not in said  # …or reasoning


def test_auto_thinks_for_a_comparison_and_talks_for_a_lookup(
    omni: Start, make_runtime: MakeRuntime, reports: list[Path]
) -> None:
    fake = reasoning_server(omni, "openai")
    with ready_client(make_runtime(**think_settings("openai", fake)), *reports) as client:
        compared = client.post("/v1/answer", json={"query": COMPARISON, "mode": "auto"}).json()
        fake.script = Script(text="They rose by 7 percent [1].")
        looked_up = client.post("/v1/answer", json={"query": LOOKUP, "mode": "auto"}).json()
    assert len({hit["doc_id"] for hit in compared["hits"]}) >= 2
    assert compared["mode"] == "think"
    assert compared["thinking"]
    assert looked_up["mode"] == "talk"
    assert looked_up["thinking"] is None
    assert looked_up["answer"] == "They rose by 7 percent [1]."


def test_think_without_a_reasoning_model_talks_and_says_why(
    omni: Start, make_runtime: MakeRuntime, reports: list[Path]
) -> None:
    fake = omni("vllm-omni")
    fake.script = Script(text="Seven percent [1].")
    with ready_client(make_runtime(generator="vllm-omni", generator_url=fake.url), *reports) as client:
        body = client.post("/v1/answer", json={"query": COMPARISON, "mode": "think"}).json()
        ready = client.get("/readyz").json()
        info = client.get("/v1/info").json()
    assert info["thinking"] == {
        "enabled": False,
        "model": None,
        "dim": None,
        "reason": "no reasoning model (OMNIDEX_REASONING_MODEL)",
    }
    assert body["mode"] == "talk"
    assert body["answer"] == "Seven percent [1]."
    assert body["notices"][0]["code"] == "thinking_unavailable"
    assert "OMNIDEX_REASONING_MODEL" in body["notices"][0]["message"]
    assert ready["checks"]["reasoning"].startswith("off:")


def _hit(doc_id: str) -> Hit:
    return Hit(doc_id, 1.0, Modality.TEXT, ItemKind.CHUNK, doc_id, "", None, None, None, None, "", None)


@pytest.mark.parametrize(
    ("question", "documents", "mode"),
    [
        ("Compare the two quotes for the roof repair.", 2, "think"),
        ("Which of the reports shows the larger rise?", 3, "think"),
        ("What is the total of both invoices?", 2, "think"),
        ("Which report shows the larger rise?", 1, "talk"),  # one document: a lookup within it
        ("When does the museum open?", 3, "talk"),
        ("Who signed the lease?", 2, "talk"),
    ],
)
def test_the_auto_rule(question: str, documents: int, mode: str) -> None:
    hits = [_hit(f"doc{n % documents}") for n in range(4)]
    assert pick_mode("auto", question, hits) == mode
    assert pick_mode("talk", question, hits) == "talk"
    assert pick_mode("think", question, hits) == "think"


def test_auto_talks_for_the_evaluation_sets_lookups() -> None:
    # Every question of the evaluation set asks for one fact: auto must talk for (nearly) all.
    lines = (Path(__file__).parents[1] / "evalset" / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    hits = [_hit("a"), _hit("b")]
    thinking = [q for q in questions if pick_mode("auto", q, hits) == "think"]
    print(f"auto thinks for {len(thinking)} of {len(questions)} lookups: {thinking}")
    assert len(questions) >= 50
    assert len(thinking) <= 2
