"""One sync: compare the source's files with the documents named under it, by content hash.

- a file no document is named after is uploaded (added);
- a file whose bytes differ from its document's is uploaded again, and the old document is
  deleted once the new one exists (updated), so its old text stops being found;
- a file whose bytes match is left alone (unchanged): no upload;
- a document whose file is gone is deleted (removed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from omnidex.client import Client
from omnidex.errors import OmnidexError
from omnidex.schemas import DocumentOut
from omnidex.sync.sources import Source, SourceFile
from omnidex.types import DocStatus

PAGE = 1000
# (what happened, the file's source) after each file; for progress bars.
OnFile = Callable[[str, str], None]


@dataclass(slots=True)
class Summary:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # source → why (upload or indexing)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def sync_once(
    client: Client,
    source: Source,
    *,
    wait: bool = True,
    timeout: float | None = None,
    on_file: OnFile | None = None,
    on_count: Callable[[int], None] | None = None,
) -> Summary:
    """Make the documents under ``source.prefix`` match the source's files; see the module."""
    files = list(source.files())
    if on_count is not None:
        on_count(len(files))
    named = synced_documents(client, source.prefix)
    # Two files with the same bytes share one document (the server keeps one per content).
    synced = {d.sha256 for documents in named.values() for d in documents}
    summary = Summary()
    sent: list[str] = []  # the ids of the documents uploaded now
    for file in files:
        outcome = _sync_file(client, file, named.pop(file.source, []), synced, summary, sent)
        if on_file is not None:
            on_file(outcome, file.source)
    for gone, documents in named.items():  # no file left for them
        for document in documents:
            _delete(client, document)
        summary.removed.append(gone)
        if on_file is not None:
            on_file("removed", gone)
    if wait and sent:
        for document in client.wait(sent, timeout=timeout):
            if document.status == DocStatus.FAILED:
                summary.failed[document.name] = document.error.message if document.error else "failed"
    return summary


def synced_documents(client: Client, prefix: str) -> dict[str, list[DocumentOut]]:
    """The documents named under ``prefix`` (usually one a name; two after an interrupted update)."""
    named: dict[str, list[DocumentOut]] = defaultdict(list)
    offset = 0
    while True:
        page = client.documents(limit=PAGE, offset=offset)
        for document in page:
            if document.name.startswith(prefix):
                named[document.name].append(document)
        if len(page) < PAGE:
            return dict(named)
        offset += PAGE


def _sync_file(
    client: Client,
    file: SourceFile,
    documents: list[DocumentOut],
    synced: set[str],
    summary: Summary,
    sent: list[str],
) -> str:
    digest = file.digest()
    current = [d for d in documents if d.sha256 == digest]
    if current or (not documents and digest in synced):
        for stale in documents:  # left by an update that was interrupted
            if stale.sha256 != digest:
                _delete(client, stale)
        summary.unchanged.append(file.source)
        return "unchanged"
    path = file.fetch()
    try:
        [uploaded] = client.upload([path], sources=[file.source])
    except OmnidexError as exc:
        summary.failed[file.source] = exc.message
        return "failed"
    finally:
        if file.temporary:
            path.unlink(missing_ok=True)
    sent.append(uploaded.id)
    for old in documents:
        if old.id != uploaded.id:
            _delete(client, old)
    (summary.updated if documents else summary.added).append(file.source)
    return "updated" if documents else "added"


def _delete(client: Client, document: DocumentOut) -> None:
    try:
        client.delete(document.id)
    except OmnidexError as exc:
        if exc.status != 404:  # gone already: what was wanted
            raise
