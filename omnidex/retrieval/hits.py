"""Qdrant points and stored items → hits: where each came from, and the URLs of its media."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from omnidex.db.models import ItemRow
from omnidex.types import Hit, ItemKind, Modality, ScoredPoint


def to_hit(point: ScoredPoint) -> Hit:
    """The hit for a point (item_start/item_end: the item's whole span, start/end so far too)."""
    payload = point.payload
    doc_id = str(payload.get("doc_id", ""))
    page = payload.get("page")
    kind = ItemKind(payload.get("kind", ItemKind.CHUNK))
    pictured = kind in (ItemKind.IMAGE, ItemKind.KEYFRAME)
    own_media = pictured or kind in (ItemKind.SPEECH, ItemKind.SOUND)
    return Hit(
        id=point.id,
        score=point.score,
        modality=Modality(payload.get("modality", Modality.TEXT)),
        kind=kind,
        doc_id=doc_id,
        source=str(payload.get("source", "")),
        page=page,
        start=payload.get("start"),
        end=payload.get("end"),
        t=payload.get("t"),
        text=str(payload.get("text", "")),
        media_url=f"/v1/media/{point.id}"
        if own_media
        else source_url(doc_id, str(payload.get("mime", "")), page),
        thumbnail_url=f"/v1/media/{point.id}?thumb=1" if pictured else None,
        item_start=payload.get("start"),
        item_end=payload.get("end"),
        caption=payload.get("caption") or None,
        scores=dict(point.spaces) or None,
    )


def reorder(hits: list[Hit], places: Sequence[int], merit: Callable[[int], float]) -> list[Hit]:
    """``hits`` with those at ``places`` sorted by ``merit`` (best first) among those same places,
    the others where they were. Each place keeps its score, so scores still fall down the list."""
    ordered = sorted(places, key=lambda place: -merit(place))
    scores = [hit.score for hit in hits]
    result = list(hits)
    for place, chosen in zip(places, ordered, strict=True):
        result[place] = hits[chosen]
        result[place].score = scores[place]
    return result


def item_hit(item: ItemRow, mime: str | None, source: str) -> Hit:
    """A stored item shown like a hit (score 0), for browsing a document."""
    payload = {
        "doc_id": item.doc_id,
        "kind": item.kind,
        "modality": item.modality,
        "page": item.page,
        "start": item.start,
        "end": item.end,
        "t": item.t,
        "text": item.text,
        "mime": mime or "",
        "source": source,
        "caption": (item.extra or {}).get("caption"),
    }
    return to_hit(ScoredPoint(item.id, 0.0, payload))


def source_url(doc_id: str, mime: str, page: int | None) -> str:
    """Where a person can open the hit: the original file, at its page when a viewer can jump there."""
    url = f"/v1/documents/{doc_id}/file"
    if mime == "application/pdf" and page:
        url += f"#page={page}"
    return url
