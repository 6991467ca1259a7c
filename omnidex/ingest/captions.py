"""Items described by the captioner before they are encoded: pictures, keyframes, sounds.

The caption is kept in the item's extra payload (``caption``, with the tokens it
took), so it is stored with the item, shown in hits and packed into answers; it
is encoded with the item's own words in the text and sparse vectors. A caption
that failed leaves ``caption_error``, which becomes a note on the document.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnidex.generation.captions import Captioner, Picture, Sound
from omnidex.media.images import jpeg
from omnidex.types import Item

CAPTION_SIDE = 768  # what the captioner sees of a picture


def caption(captioner: Captioner, items: Sequence[Item]) -> None:
    """Caption the items that have a picture or a sound and no caption yet; drop their sound."""
    chosen = [item for item in items if needs_caption(item)]
    jobs: list[Picture | Sound] = [
        Picture(jpeg(item.image, CAPTION_SIDE))
        if item.image is not None
        else Sound(item.sound or b"", (item.end or 0.0) - (item.start or 0.0))
        for item in chosen
    ]
    for item, said in zip(chosen, captioner.describe(jobs), strict=True):
        item.extra.pop("caption_error", None)
        if said.tokens:
            item.extra["caption_tokens"] = said.tokens
        if said.text:
            item.extra["caption"] = said.text
        else:
            item.extra["caption_error"] = said.error or "the captioner failed"
    for item in items:
        item.sound = None


def needs_caption(item: Item) -> bool:
    return (item.image is not None or item.sound is not None) and not item.extra.get("caption")


def searchable(item: Item) -> str:
    """What the text and sparse vectors encode of an item: its words and its caption."""
    caption = str(item.extra.get("caption") or "")
    return f"{item.text}\n{caption}".strip() if caption else item.text
