"""The layers of DESIGN.md, read from every module's imports (with ast), and the size of modules.

Data flows one way: entry points (api, cli, runtime, client) → use cases (ingest,
retrieval, answering) → services (db, blobs, store, encoders, media, generation)
→ the floor (config, errors, types, schemas, logs).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "omnidex"
FLOOR = {"omnidex", "omnidex.config", "omnidex.errors", "omnidex.types", "omnidex.schemas", "omnidex.logs"}
SERVICES = {"db", "blobs", "store", "encoders", "media", "generation"}
USE_CASES = {"ingest", "retrieval", "answering"}
# A service may lean on another's interface where its work needs it: media transcribes a file
# through the speech recognizer's protocol.
SERVICE_SEAMS = {"media": {"omnidex.encoders.asr"}}
# Answering calls retrieval through its public class, never its modules.
USE_CASE_DOORS = {"answering": {"omnidex.retrieval"}}
CLIENT_FLOOR = {"omnidex", "omnidex.schemas", "omnidex.types", "omnidex.errors"}
CLIENT_LIBRARIES = {"httpx", "pydantic", "langchain_core"}
MAX_LINES = 400


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module
    target: str  # an omnidex module, or a top-level third-party package
    line: int


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_imports(module: str, source: str, known: set[str]) -> list[Import]:
    """Every import in ``source`` (those under ``if TYPE_CHECKING`` too), resolved to modules."""
    found: list[Import] = []
    package = module if module in known and _is_package(module, known) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append(Import(module, candidate if candidate in known else base, node.lineno))
    return found


def _is_package(module: str, known: set[str]) -> bool:
    return any(other.startswith(module + ".") for other in known)


def layer(module: str) -> str:
    if module in FLOOR:
        return "floor"
    part = module.split(".")[1]
    if part in SERVICES:
        return "service"
    if part in USE_CASES:
        return "use case"
    return "entry point"


def box(module: str) -> str:
    """The module's box in the architecture: its first-level sub-package or module."""
    return ".".join(module.split(".")[:2])


def violations(sources: dict[str, str]) -> list[str]:
    """Every import of ``sources`` ({module: code}) that runs against the flow, in words."""
    known = set(sources)
    problems = []
    for module, source in sorted(sources.items()):
        for found in read_imports(module, source, known):
            problem = _check(found)
            if problem:
                problems.append(f"{module}:{found.line} imports {found.target}: {problem}")
    return problems


def _check(found: Import) -> str | None:
    module, target = found.module, found.target
    top = target.split(".")[0]
    if top == "sqlalchemy" and box(module) != "omnidex.db":
        return "SQL belongs in omnidex.db"
    if box(module) == "omnidex.client":
        if top == "omnidex" and box(target) != "omnidex.client" and target not in CLIENT_FLOOR:
            return "the client imports only the floor (schemas, types, errors)"
        if top != "omnidex" and top not in CLIENT_LIBRARIES and top not in sys.stdlib_module_names:
            return f"the client depends on httpx and pydantic only, not {top}"
        return None
    if module.startswith("omnidex.api.routes.") and target.startswith("omnidex.api.routes."):
        return "routes never import routes"
    if top != "omnidex" or box(target) == box(module):
        return None
    mine, theirs = layer(module), layer(target)
    if mine == "floor" and theirs != "floor":
        return "the floor imports only the floor"
    if mine == "service" and theirs != "floor":
        allowed = SERVICE_SEAMS.get(box(module).split(".")[1], set())
        return None if target in allowed else "a service stands on the floor alone"
    if mine == "use case":
        if theirs == "entry point":
            return "a use case never imports an entry point"
        if theirs == "use case" and target not in USE_CASE_DOORS.get(box(module).split(".")[1], set()):
            return "a use case never imports another use case's modules"
    return None


def package_sources() -> dict[str, str]:
    return {module_name(path): path.read_text() for path in PACKAGE.rglob("*.py")}


def test_every_import_follows_the_flow() -> None:
    assert violations(package_sources()) == []


@pytest.mark.parametrize(
    ("module", "bad_import", "reason"),
    [
        ("omnidex.retrieval.extra", "from omnidex.ingest.pipeline import Pipeline", "another use case"),
        ("omnidex.answering.extra", "from omnidex.retrieval.retriever import Retriever", "another use case"),
        ("omnidex.store.extra", "from omnidex.retrieval import Retriever", "floor alone"),
        ("omnidex.media.extra", "import omnidex.runtime", "floor alone"),
        ("omnidex.types", "from omnidex.db.models import ItemRow", "only the floor"),
        ("omnidex.client.extra", "from omnidex.runtime import Runtime", "only the floor"),
        ("omnidex.client.extra", "import torch", "httpx and pydantic only"),
        ("omnidex.api.routes.extra", "from omnidex.api.routes.search import search", "never import routes"),
        ("omnidex.ingest.extra", "from sqlalchemy import select", "SQL belongs"),
        ("omnidex.ingest.extra", "from omnidex.api.deps import TenantDep", "entry point"),
    ],
)
def test_one_bad_import_fails(module: str, bad_import: str, reason: str) -> None:
    sources = package_sources()
    sources[module] = f"from __future__ import annotations\n{bad_import}\n"
    [problem] = violations(sources)
    assert problem.startswith(f"{module}:2 ")
    assert reason in problem


def test_an_import_under_type_checking_counts() -> None:
    sources = package_sources()
    sources["omnidex.db.extra"] = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from omnidex.ingest.worker import Worker\n"
    )
    assert len(violations(sources)) == 1


def test_no_module_is_over_400_lines() -> None:
    sizes = {module_name(path): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {module: lines for module, lines in sizes.items() if lines > MAX_LINES} == {}


def test_every_package_says_what_it_holds_and_may_import() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        doc = (ast.get_docstring(ast.parse(init.read_text())) or "").lower()
        assert "import" in doc, f"{module_name(init)}'s docstring does not say what it may import"
