"""The web UI in a real headless Chromium: upload, library, search, ask, delete, keyboard and names."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from omnidex.api.app import create_app
from omnidex.runtime import Runtime
from tests.files import (
    make_corrupt_pdf,
    make_docx,
    make_pdf,
    make_picture,
    make_video,
    recording,
    speak,
    write_audio,
)
from tests.omni_fakes import FakeOmni, Script, serve, stop

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(
    os.environ.get("OMNIDEX_SCREENSHOTS", Path(__file__).resolve().parents[2] / "ui-screenshots")
)
PANELS = ["ask", "search", "library", "upload"]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
VIEWPORTS = {**SIZES, "laptop": {"width": 1280, "height": 800}}
TALK = "The lion puts on sunscreen before the parade."
ANSWER = "The lion puts on sunscreen [1], as the talk says [3]."

# Every visible control must have an accessible name and be reachable with Tab.
CONTROLS_JS = """
() => {
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)
    && getComputedStyle(e).visibility !== 'hidden';
  const text = (id) => document.getElementById(id)?.textContent || '';
  const name = (e) => (e.getAttribute('aria-label') || '').trim()
    || (e.getAttribute('aria-labelledby') || '').split(' ').map(text).join(' ').trim()
    || [...(e.labels || [])].map((l) => l.textContent).join(' ').trim()
    || (e.tagName === 'A' || e.tagName === 'BUTTON' ? e.textContent.trim() : '')
    || (e.getAttribute('title') || '').trim();
  const selector = 'a[href], button, input, select, textarea, audio[controls], video[controls]';
  return [...document.querySelectorAll(selector)].filter(visible).filter((e) => !e.disabled)
    .map((e) => ({tag: e.tagName, id: e.id, name: name(e), tabindex: e.tabIndex, key: key(e)}));
}
"""
FOCUSED_JS = "(() => { const e = document.activeElement; return key(e); })()"
KEY_JS = """
window.key = (e) => !e ? '' : e.id || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 40);
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--autoplay-policy=no-user-gesture-required"],
        )  # fmt: skip
        yield browser
        browser.close()


class Page:
    """A browser tab that records console errors."""

    def __init__(self, browser: Any, url: str, size: str = "desktop", theme: str = "light") -> None:
        self.context = browser.new_context(viewport=VIEWPORTS[size], color_scheme=theme)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.url = url
        self.size = size

    def open(self, panel: str) -> Any:
        self.page.goto(f"{self.url}/#{panel}")
        self.page.wait_for_selector(f"#panel-{panel}:not([hidden])")
        self.page.wait_for_selector("#status li")
        return self.page

    def searched(self, query: str) -> Any:
        """The Search panel once ``query`` (sent with Enter) has hits."""
        page = self.open("search")
        page.fill("#search-query", query)
        page.keyboard.press("Enter")
        page.wait_for_selector("#results .hit")
        return page

    def uploaded(self, *paths: Path) -> Any:
        """The Upload panel once every one of ``paths`` is indexed."""
        page = self.open("upload")
        page.set_input_files("#upload-input", [str(path) for path in paths])
        for path in paths:
            page.wait_for_selector(f'.upload[data-name="{path.name}"][data-status="ready"]', timeout=180_000)
        return page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.size}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def zoo(tmp_path: Path) -> dict[str, Path]:
    picture = tmp_path / "lion.png"
    make_picture("LION SUNSCREEN").save(picture)
    return {
        "pdf": make_pdf(
            tmp_path / "zoo.pdf", [["Penguins like cold water."], ["The lion puts on sunscreen."]]
        ),
        "picture": picture,
        "talk": write_audio(tmp_path / "talk.wav", recording([(2.0, speak(TALK))], 6.0)),
        "broken": make_corrupt_pdf(tmp_path / "broken.pdf"),
    }


@contextmanager
def served(rt: Runtime, workers: int = 1) -> Iterator[str]:
    """The app on ``rt`` on a real socket, for the browser; yields its URL."""
    server, thread, url = serve(create_app(runtime=rt, workers=workers))
    try:
        yield url
    finally:
        stop(server, thread)


@pytest.fixture
def site(
    omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime]
) -> Iterator[tuple[str, FakeOmni]]:
    fake = omni("vllm-omni")
    fake.script = Script(text=ANSWER)
    with served(make_runtime(generator="vllm-omni", generator_url=fake.url)) as url:
        yield url, fake


def test_upload_search_ask_and_delete(browser: Any, site: tuple[str, FakeOmni], zoo: dict[str, Path]) -> None:
    url, _ = site
    tab = Page(browser, url)
    page = tab.uploaded(zoo["pdf"], zoo["picture"], zoo["talk"])
    page.set_input_files("#upload-input", [str(zoo["broken"])])
    failed = page.wait_for_selector('.upload[data-name="broken.pdf"][data-status="failed"]', timeout=60_000)
    assert "failed:" in failed.inner_text()
    assert "PDF" in failed.inner_text()  # the reason, in words
    tab.shot("upload-done")

    page = tab.open("library")
    page.wait_for_selector('.doc[data-status="ready"]')
    assert page.locator(".doc").count() == 4
    page.get_by_role("button", name="Open talk.wav").click()
    segment = page.wait_for_selector("#doc-items .hit[data-kind='speech']")
    assert "0:0" in segment.inner_text()  # its times
    assert segment.query_selector("p") is not None  # and what was said
    tab.shot("library-open")

    page = tab.open("search")
    page.fill("#search-query", "lion sunscreen")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results .hit")
    text_hit = page.wait_for_selector("#results .hit[data-kind='chunk']")
    assert "page 2" in text_hit.inner_text()
    assert text_hit.query_selector("mark") is not None  # the words, highlighted
    thumb = page.wait_for_selector("#results .hit[data-kind='image'] img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb)
    heard = page.wait_for_selector("#results .hit[data-modality='audio']")
    assert heard.query_selector("audio") is None  # nothing loads before play is pressed
    heard.query_selector("button.play").click()
    audio = page.wait_for_selector("#results .hit[data-modality='audio'] audio")
    start = float(audio.get_attribute("data-start") or "nan")
    assert start > 1.0
    page.wait_for_function(
        "(a) => a.readyState >= 1 && Math.abs(a.currentTime - Number(a.dataset.start)) < 0.3", arg=audio
    )
    tab.shot("search-results")

    page = tab.open("ask")
    page.fill("#ask-query", "Who puts on sunscreen?")
    page.check("#ask-speak")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#answer a.cite")
    assert page.inner_text("#answer") == ANSWER
    assert page.get_attribute("#answer", "data-audio-chunks") == "2"
    links = page.locator("#answer a.cite")
    assert links.count() >= 1
    links.first.click()
    assert "highlight" in (page.get_attribute("#src-1", "class") or "")
    page.wait_for_selector("#doc-viewer[open] #doc-viewer-body:not([data-kind=''])")  # the source, in the app
    tab.shot("ask-viewer")
    page.click("#doc-viewer form button")
    tab.shot("ask-answer")

    page = tab.open("library")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete zoo.pdf").click()
    page.wait_for_function("() => !document.querySelector('.doc button[aria-label=\"Open zoo.pdf\"]')")
    page = tab.open("search")
    page.fill("#search-query", "penguins cold water")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results li, #search-notice:not([hidden])")
    assert "zoo.pdf" not in (page.text_content("#results") or "")  # folded hits included
    assert tab.errors == []
    tab.close()


def test_without_a_generator_the_sources_still_show(
    browser: Any, make_runtime: Callable[..., Runtime], zoo: dict[str, Path]
) -> None:
    rt = make_runtime()
    with served(rt) as url:
        tab = Page(browser, url)
        page = tab.uploaded(zoo["pdf"])
        page.goto(url)  # no panel asked for: without answers, it opens on Search
        page.wait_for_selector("#panel-search:not([hidden])")
        page = tab.open("ask")
        assert "Answers: off — no generator is configured" in page.inner_text("#status")
        off = page.wait_for_selector("#ask-off:not([hidden])")
        assert "set OMNIDEX_GENERATOR" in off.inner_text()  # why, and how to turn them on, in view
        assert page.is_disabled("#ask-speak")
        assert "off:" in page.inner_text("label:has(#ask-speak)")
        page.fill("#ask-query", "Who puts on sunscreen?")
        page.keyboard.press("Enter")
        notice = page.wait_for_selector("#ask-notice:not([hidden])")
        assert "no generator is configured" in notice.inner_text()
        page.wait_for_selector("#ask-sources .hit")
        assert page.is_hidden("#answer")
        assert tab.errors == []
        tab.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_control_is_named_and_reachable_and_nothing_spills(
    browser: Any, site: tuple[str, FakeOmni], zoo: dict[str, Path], size: str
) -> None:
    url, _ = site
    tab = Page(browser, url, size)
    tab.uploaded(zoo["picture"], zoo["talk"])
    for panel in PANELS:
        page = tab.searched("lion") if panel == "search" else tab.open(panel)
        if panel == "library":
            page.wait_for_selector(".doc")
        page.evaluate(KEY_JS)
        controls = page.evaluate(CONTROLS_JS)
        unnamed = [c for c in controls if not c["name"]]
        assert unnamed == [], f"{panel}: controls without an accessible name: {unnamed}"
        assert [c for c in controls if c["tabindex"] < 0] == []
        reached = set()
        page.evaluate("document.activeElement && document.activeElement.blur()")
        for _ in range(len(controls) + 10):
            page.keyboard.press("Tab")
            reached.add(page.evaluate(FOCUSED_JS))
        missing = [c for c in controls if c["key"] not in reached]
        assert missing == [], f"{panel}: not reachable with Tab: {missing}"
        spill = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert spill <= 0, f"{panel} is wider than the {size} screen by {spill}px"
        tab.shot(panel)
    assert tab.errors == []
    tab.close()


def test_the_api_pages_render_with_the_network_blocked(
    browser: Any, make_runtime: Callable[..., Runtime]
) -> None:
    """/docs and /redoc load every script from omnidex itself: with every request to another
    host aborted, both still show the API's operations."""
    with served(make_runtime(), workers=0) as url:
        context = browser.new_context(viewport=SIZES["desktop"])
        elsewhere: list[str] = []

        def local_only(route: Any) -> None:
            if route.request.url.startswith(url):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", local_only)
        page = context.new_page()
        page.goto(f"{url}/docs")
        page.wait_for_selector('.opblock-summary-path[data-path="/v1/search"]', timeout=30_000)
        assert "omnidex" in page.inner_text(".information-container")
        assert elsewhere == []
        page.goto(f"{url}/redoc")
        page.wait_for_selector('[id^="tag/search/operation"]', state="attached", timeout=30_000)
        assert "omnidex" in page.inner_text(".api-info h1")
        # All ReDoc asks of the network is its maker's logo, in the footer; without it, it renders.
        assert set(elsewhere) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
        context.close()


def test_think_mode_shows_the_reasoning_folded_apart_from_the_answer(
    browser: Any, omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime], zoo: dict[str, Path]
) -> None:
    talker = omni("vllm-omni")
    thinker = omni("openai")
    thinker.script = Script(replay=Path(__file__).parents[1] / "transcripts" / "vllm-reasoning.sse")
    rt = make_runtime(
        generator="vllm-omni",
        generator_url=talker.url,
        reasoning_model="Qwen/Qwen3-Omni-30B-A3B-Thinking",
        reasoning_url=thinker.url,
    )
    with served(rt) as url:
        tab = Page(browser, url)
        tab.uploaded(zoo["pdf"])
        page = tab.open("ask")
        page.fill("#ask-query", "Which report shows the larger rise?")
        page.select_option("#ask-mode", "think")
        page.click("#ask-form button[type=submit]")
        page.wait_for_selector("#answer a.cite")
        assert page.is_visible("#thinking summary")
        assert not page.is_visible("#thinking-text")  # folded until opened
        page.click("#thinking summary")
        assert page.inner_text("#thinking-text").startswith("Source [1] gives a rise of 4 %")
        answer = page.inner_text("#answer")
        assert answer.startswith("The northern report shows the larger rise")
        assert "staffing" not in answer
        tab.shot("ask-thinking")
        assert tab.errors == []
        tab.close()


def test_answers_render_markdown_safely_and_preview_their_sources(
    browser: Any, omni: Callable[[str], FakeOmni], make_runtime: Callable[..., Runtime], zoo: dict[str, Path]
) -> None:
    fake = omni("openai")
    markdown = "**Lions** wear sunscreen [1].\n\n- every morning [42]\n- <img src=x onerror=alert(1)>"
    fake.script = Script(text=markdown)
    rt = make_runtime(generator="openai", generator_url=fake.url)
    with served(rt) as url:
        tab = Page(browser, url)
        tab.uploaded(zoo["pdf"])
        page = tab.open("ask")
        page.fill("#ask-query", "Who wears sunscreen?")
        page.click("#ask-form button[type=submit]")
        page.wait_for_selector("#answer a.cite")
        assert page.inner_text("#answer strong") == "Lions"
        assert page.locator("#answer li").count() == 2
        assert "[42]" not in (page.text_content("#answer") or "")  # a source that does not exist
        assert page.locator("#answer img").count() == 0  # the model's HTML is text, never markup
        assert "<img src=x" in page.inner_text("#answer")
        preview = page.locator("#answer .preview")
        assert preview.is_hidden()
        page.focus("#answer a.cite")
        assert preview.is_visible()
        assert "zoo.pdf" in preview.inner_text()
        tab.shot("ask-markdown")
        page.keyboard.press("Escape")
        assert preview.is_hidden()
        page.click("#answer a.cite")
        page.wait_for_selector("#doc-viewer[open] #doc-viewer-body[data-kind='pdf'][data-page='2']")
        assert tab.errors == []
        tab.close()


def ready_row(name: str) -> str:
    return f'.doc[data-status="ready"]:has(button[aria-label="Open {name}"])'


def test_the_library_follows_documents_live_and_retries_failed_ones(
    browser: Any, make_runtime: Callable[..., Runtime], zoo: dict[str, Path], tmp_path: Path
) -> None:
    import httpx

    rt = make_runtime()
    notes = tmp_path / "tide-notes.txt"
    notes.write_text("The harbour master keeps the tide tables in the blue cabinet.\n" * 400)
    rt.pipeline.max_text_file_bytes = 1000  # too small for the notes: they fail
    with served(rt) as url:
        tab = Page(browser, url)
        page = tab.open("library")
        page.evaluate("window.sameLoad = true")
        paths = (zoo["talk"], zoo["pdf"], zoo["picture"], notes)
        files = [("files", (path.name, path.read_bytes())) for path in paths]
        assert httpx.post(f"{url}/v1/documents", files=files, timeout=30).status_code == 202
        page.click("#refresh")
        page.wait_for_selector('.doc[data-status="queued"], .doc[data-status="processing"]')
        for name in ("talk.wav", "zoo.pdf", "lion.png"):  # no reload: the rows follow their events
            page.wait_for_selector(ready_row(name), timeout=120_000)
        failed = page.wait_for_selector('.doc[data-status="failed"]', timeout=60_000)
        assert "Failed:" in failed.inner_text()
        assert "OMNIDEX_MAX_TEXT_FILE_BYTES" in failed.inner_text()  # the reason, in view
        tab.shot("library-failed")

        rt.pipeline.max_text_file_bytes = 64 * 1024**2  # the cause fixed
        page.get_by_role("button", name="Retry tide-notes.txt").click()
        page.wait_for_selector(ready_row("tide-notes.txt"), timeout=60_000)
        assert page.evaluate("window.sameLoad") is True

        page.fill("#filter-name", "tide")
        page.wait_for_function("() => document.querySelectorAll('#library .doc').length === 1")
        page.fill("#filter-name", "")
        page.wait_for_function("() => document.querySelectorAll('#library .doc').length === 4")
        page.check('input[aria-label="Select zoo.pdf"]')
        page.check('input[aria-label="Select lion.png"]')
        assert page.inner_text("#delete-selected") == "Delete selected (2)"
        page.click("#refresh")  # as the library does every ten seconds: the choice stays
        page.wait_for_function("() => document.querySelectorAll('#library .pick:checked').length === 2")
        assert page.inner_text("#delete-selected") == "Delete selected (2)"
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#delete-selected")
        page.wait_for_function("() => document.querySelectorAll('#library .doc').length === 2")
        assert tab.errors == []
        tab.close()


def test_a_follow_up_sends_the_conversation_and_threads_are_kept(
    browser: Any, site: tuple[str, FakeOmni], zoo: dict[str, Path]
) -> None:
    url, fake = site
    tab = Page(browser, url)
    tab.uploaded(zoo["pdf"], zoo["picture"])
    page = tab.open("ask")
    page.fill("#ask-query", "Who puts on sunscreen?")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#answer a.cite")
    fake.script = Script(text="Every morning [1].")
    page.fill("#ask-query", "When?")
    page.click("#ask-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#answer').innerText.startsWith('Every morning')")
    conversation = fake.requests[-1]["messages"]
    said = [
        (m["role"], m["content"] if isinstance(m["content"], str) else m["content"][0]["text"])
        for m in conversation
    ]
    assert ("user", "Who puts on sunscreen?") in said  # the earlier turn went along
    assert any(role == "assistant" and text.startswith("The lion puts on sunscreen") for role, text in said)
    assert "Who puts on sunscreen?" in page.inner_text("#thread")  # and is shown above
    tab.shot("ask-thread")

    page.click("#new-thread")
    assert page.inner_text("#thread") == ""
    page.set_input_files("#ask-image", str(zoo["picture"]))  # a question asked with a picture
    page.click("#ask-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#answer').innerText.startsWith('Every morning')")
    asked = fake.requests[-1]["messages"][-1]["content"]
    assert any(part["type"] == "image_url" for part in asked)

    page.reload()
    page.wait_for_selector("#panel-ask:not([hidden])")
    options = page.locator("#threads option").all_inner_texts()
    assert any(text.startswith("Who puts on sunscreen?") and "(2)" in text for text in options)
    page.select_option("#threads", label=next(t for t in options if t.startswith("Who puts on sunscreen?")))
    assert "Who puts on sunscreen?" in page.inner_text("#thread")
    assert tab.errors == []
    tab.close()


def test_with_keys_the_ui_signs_in_and_a_reader_cannot_upload(
    browser: Any, make_runtime: Callable[..., Runtime], zoo: dict[str, Path]
) -> None:
    import httpx

    from omnidex.db import keys

    rt = make_runtime(key_cache_seconds=0)
    _, writer = keys.create_key(rt.db, "default", "writer")
    reader_row, reader = keys.create_key(rt.db, "default", "reader")
    with served(rt) as url:
        headers = {"Authorization": f"Bearer {writer}"}
        with zoo["pdf"].open("rb") as handle:
            sent = httpx.post(f"{url}/v1/documents", files={"files": ("zoo.pdf", handle)}, headers=headers)
        assert sent.status_code == 202
        tab = Page(browser, url)
        page = tab.page
        page.goto(f"{url}/#search")
        page.wait_for_selector("#signin[open]")
        page.fill("#signin-key", "not-a-key")
        page.click("#signin-form button[type=submit]")
        error = page.wait_for_selector("#signin-error:not([hidden])")
        assert "not valid" in error.inner_text()
        tab.shot("sign-in")

        page.fill("#signin-key", reader)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#signin", state="hidden")
        assert page.is_hidden("nav button[data-panel=upload]")
        assert "reader" in page.inner_text("#who")
        page.wait_for_selector("#panel-search:not([hidden])")
        page.click("nav button[data-panel=library]")
        page.wait_for_selector('.doc[data-status="ready"]', timeout=120_000)
        assert page.locator(".doc button.danger:visible").count() == 0  # no deleting either
        page.click("nav button[data-panel=search]")
        page.fill("#search-query", "lion sunscreen")
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#results .hit[data-kind='chunk']")  # the key goes with every request
        keys.revoke_key(rt.db, reader_row.id)  # revoked mid-session: the next request brings the prompt back
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#signin[open]")
        assert "revoked" in page.inner_text("#signin-error")

        page.fill("#signin-key", writer)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#signin", state="hidden")
        assert page.is_visible("nav button[data-panel=upload]")
        page.click("nav button[data-panel=upload]")
        page.set_input_files("#upload-input", [str(zoo["picture"])])
        page.wait_for_selector('.upload[data-name="lion.png"][data-status="ready"]', timeout=120_000)
        cookie = next(c for c in tab.context.cookies() if c["name"] == "omnidex_key")
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
        assert [e for e in tab.errors if "401" not in e] == []
        tab.close()


AXE_RESULTS = """async () => {
  const found = await axe.run(document, { resultTypes: ["violations"] });
  return found.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ")) }));
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_view_has_serious_accessibility_violations(
    browser: Any, site: tuple[str, FakeOmni], zoo: dict[str, Path], theme: str
) -> None:
    import axe_playwright_python

    axe = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    url, _ = site
    tab = Page(browser, url, theme=theme)
    tab.uploaded(zoo["pdf"], zoo["picture"], zoo["talk"])
    for panel in PANELS:
        page = tab.searched("lion sunscreen") if panel == "search" else tab.open(panel)
        if panel == "ask":
            page.fill("#ask-query", "Who puts on sunscreen?")
            page.click("#ask-form button[type=submit]")
            page.wait_for_selector("#answer a.cite")
        if panel == "library":
            page.wait_for_selector(".doc")
        page.add_script_tag(path=str(axe))
        violations = page.evaluate(AXE_RESULTS)
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{panel} ({theme}): {serious}"
        tab.shot(f"{panel}-{theme}")
    page = tab.searched("lion sunscreen")
    page.locator("#results button[aria-label^='View zoo.pdf']").first.click()
    page.wait_for_selector("#doc-viewer-body[data-kind='pdf']")
    page.add_script_tag(path=str(axe))
    serious = [v for v in page.evaluate(AXE_RESULTS) if v["impact"] in ("serious", "critical")]
    assert serious == [], f"viewer ({theme}): {serious}"
    tab.shot(f"viewer-{theme}")
    tab.close()


def test_the_viewer_shows_each_source_at_its_place(
    browser: Any, site: tuple[str, FakeOmni], zoo: dict[str, Path], tmp_path: Path
) -> None:
    url, _ = site
    notes = make_docx(
        tmp_path / "notes.docx", "Notes", ["Penguins like cold water.", "The lion wears sunscreen at noon."]
    )
    tab = Page(browser, url)
    tab.uploaded(zoo["pdf"], zoo["talk"], notes)
    page = tab.searched("lion sunscreen")
    pdf_hit = page.wait_for_selector("#results .hit[data-kind='chunk']:has-text('page 2')")
    pdf_hit.query_selector("button[aria-label^='View zoo.pdf']").click()
    page.wait_for_selector("#doc-viewer-body[data-kind='pdf'][data-page='2']")  # PDF.js, at the cited page
    drawn = page.evaluate(
        "() => { const c = document.querySelector('.pdf-page'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let ink = 0;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] < 128) ink++; return [c.width, ink]; }"
    )
    assert drawn[0] > 300
    assert drawn[1] > 50  # the page's words are drawn
    tab.shot("viewer-pdf")
    page.click("#doc-viewer form button")

    page.locator("#results .hit[data-modality='audio'] button[aria-label^='View talk.wav']").click()
    span = page.wait_for_selector("#doc-viewer-body[data-kind='player'] .timeline .span")
    page.wait_for_function("(s) => parseFloat(s.style.width) > 0", arg=span)
    page.click("#doc-viewer form button")

    page.locator("button[aria-label^='View notes.docx']").first.click()
    cited = page.wait_for_selector("#doc-viewer-body[data-kind='text'] .chunk.cited")
    assert "sunscreen" in cited.inner_text()
    assert tab.errors == []
    tab.close()


def test_twenty_hits_from_twelve_mixed_files_fit_and_load_no_media_before_play(
    browser: Any, site: tuple[str, FakeOmni], zoo: dict[str, Path], tmp_path: Path
) -> None:
    url, _ = site
    topics = ["lion", "zebra", "penguin", "giraffe", "otter", "heron"]
    files = [
        make_pdf(tmp_path / f"{animal}.pdf", [[f"The {animal} keeper feeds the {animal} at noon."],
                                             [f"Visitors watch the {animal} from the bridge."]])
        for animal in topics
    ]  # fmt: skip
    for animal in ("lion", "otter", "heron"):
        make_picture(f"{animal.upper()} FEEDING").save(tmp_path / f"{animal}.png")
        files.append(tmp_path / f"{animal}.png")
    for animal in ("zebra", "giraffe"):
        said = speak(f"The {animal} keeper feeds the {animal} at noon, and visitors watch.")
        files.append(write_audio(tmp_path / f"{animal}.wav", recording([(1.0, said)], 6.0)))
    files.append(make_video(tmp_path / "feeding.mp4", [("white", "FEEDING", 2.0), ("yellow", "NOON", 2.0)]))
    assert len(files) == 12
    tab = Page(browser, url, size="laptop")
    tab.uploaded(*files)
    page = tab.open("search")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.fill("#search-query", "who feeds the animals at noon")
    page.keyboard.press("Enter")
    page.wait_for_selector("#results .hit")
    page.wait_for_load_state("networkidle")
    shown = page.evaluate("() => document.querySelectorAll('#results .hit').length")
    assert shown >= 12  # every document's best hit, the rest folded
    height = page.evaluate("() => document.documentElement.scrollHeight")
    print(f"{shown} hits shown or folded from 12 files; the results page is {height} px tall at 1280×800")
    assert height < 2500, f"the results page is {height} px tall"
    media = [u for u in requested if "/file" in u or ("/v1/media/" in u and "thumb=1" not in u)]
    assert media == [], "media downloaded before play was pressed"
    tab.shot("search-twelve")
    page.locator("#results button.play:visible, #results button.poster:visible").first.click()
    page.wait_for_selector("#results audio, #results video")
    assert any("/file" in u for u in requested)  # now, and only now

    page.fill("#search-query", "xyzzy plover quantum")
    page.keyboard.press("Enter")
    nothing = page.wait_for_selector("#results .nothing")
    assert nothing.inner_text().startswith("Nothing relevant found")
    assert page.locator("#results .hit:visible").count() == 0  # the closest are folded away
    tab.shot("search-nothing")
    tab.close()
