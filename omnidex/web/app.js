// omnidex web UI: upload, library, search and ask, on the REST API of the same server.

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
};

const PANELS = ["ask", "search", "library", "upload"];
const state = { info: null, panel: null };

// ---------- panels ----------

function show(panel) {
  if (panel === "upload" && state.caller?.role === "reader") panel = "search";
  state.panel = panel;
  for (const button of document.querySelectorAll("nav button")) {
    const current = button.dataset.panel === panel;
    if (current) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
    $(`#panel-${button.dataset.panel}`).hidden = !current;
  }
  if (panel === "library") loadLibrary();
  if (panel === "search") loadDocumentChoices();
  if (location.hash !== `#${panel}`) history.replaceState(null, "", `#${panel}`);
}

// ---------- status ----------

async function loadStatus() {
  const list = $("#status");
  try {
    const [info, ready] = await Promise.all([api("/v1/info"), fetch("/readyz")]);
    const checks = (await ready.json().catch(() => ({}))).checks || {};
    state.info = info;
    const worst = (names) => {
      const values = names.map((name) => checks[name] || "");
      if (values.some((v) => v.startsWith("error"))) return ["down", values.find((v) => v.startsWith("error"))];
      if (values.some((v) => v.startsWith("warming"))) return ["warming up", values.find((v) => v.startsWith("warming"))];
      return ["ready", ""];
    };
    const [search, searchWhy] = worst(["database", "vector_store", "text_encoder"]);
    const [answers, answersWhy] = info.answers.enabled ? worst(["generator"]) : ["off", info.answers.reason];
    const chips = [
      ["Search", search, searchWhy],
      ["Answers", answers, answersWhy],
      ["Spoken answers", info.spoken_answers.enabled ? "on" : "off", info.spoken_answers.reason],
      ["Thinking", info.thinking?.enabled ? "on" : "off", info.thinking?.reason],
      ["Speech", info.speech.enabled ? "on" : "off", info.speech.reason],
      ["Visual search", info.visual_search.enabled ? "on" : "off", info.visual_search.reason],
    ];
    list.replaceChildren(...chips.map(([name, value, why]) => {
      const good = value === "ready" || value === "on";
      return el("li", { class: good ? "on" : value === "down" ? "down" : "off" },
        el("span", {}, `${name}: ${value}`), why && !good ? el("span", { class: "why" }, ` — ${why}`) : null);
    }));
    explainAnswers(info);
  } catch (error) {
    list.replaceChildren(el("li", { class: "down" }, `Server unreachable: ${error.message}`));
  }
}

// What the Ask view can do here, said in visible text.
function explainAnswers(info) {
  const off = $("#ask-off");
  off.hidden = info.answers.enabled;
  off.textContent = info.answers.enabled ? "" : `Answers are off: ${info.answers.reason}. Search still works, ` +
    "and Ask shows the sources it finds. To turn answers on, set OMNIDEX_GENERATOR (vllm-omni, dashscope, " +
    "openai or transformers) and OMNIDEX_GENERATOR_URL, then restart.";
  const speak = $("#ask-speak");
  speak.disabled = !info.spoken_answers.enabled;
  if (speak.disabled) speak.checked = false;
  $("#ask-speak-why").textContent = info.spoken_answers.enabled ? "" : `(off: ${info.spoken_answers.reason})`;
  explainMode();
}

function explainMode() {
  const thinking = state.info?.thinking;
  const asked = $("#ask-mode").value !== "talk";
  $("#ask-mode-why").textContent = asked && thinking && !thinking.enabled
    ? `(no reasoning model here, so it talks: ${thinking.reason})` : "";
}

// ---------- helpers ----------

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (response.status === 401) signIn(await errorText(response));
  if (!response.ok) throw new Error(await errorText(response));
  return response.status === 204 ? null : response.json();
}

// ---------- sign-in ----------

// Who this browser is: with API keys on, the key it signed in with (an HttpOnly cookie for this
// browser session, so pictures, players and event streams carry it too) and its role.
async function whoAmI() {
  const response = await fetch("/v1/session");
  if (response.status === 401) { signIn(); return false; }
  if (!response.ok) return true; // the status chips say what is wrong
  applyCaller(await response.json());
  return true;
}

function applyCaller(caller) {
  state.caller = caller;
  document.body.classList.toggle("reader", caller.role === "reader");
  $("#sign-out").hidden = !caller.keys;
  $("#who").hidden = !caller.keys;
  $("#who").textContent = caller.keys ? `${caller.tenant} · ${caller.role}` : "";
  if (caller.role === "reader" && state.panel === "upload") show("search");
}

function signIn(message = "") {
  const dialog = $("#signin");
  $("#signin-error").hidden = !message;
  $("#signin-error").textContent = message;
  if (!dialog.open) dialog.showModal();
  $("#signin-key").focus();
}

async function submitKey(event) {
  event.preventDefault();
  const response = await fetch("/v1/session", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ api_key: $("#signin-key").value }) });
  if (!response.ok) {
    $("#signin-error").textContent = await errorText(response);
    $("#signin-error").hidden = false;
    return;
  }
  applyCaller(await response.json());
  $("#signin-key").value = "";
  $("#signin").close();
  if (state.panel) loadStatus();
  else openFirstPanel();
}

// The panel the address asks for; else Ask where answers are on, Search where they are not.
function openFirstPanel() {
  if (PANELS.includes(location.hash.slice(1))) show(location.hash.slice(1));
  loadStatus().then(() => { if (!state.panel) show(state.info?.answers.enabled === false ? "search" : "ask"); });
}

async function signOut() {
  await fetch("/v1/session", { method: "DELETE" });
  location.reload();
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error?.message || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function clock(seconds) {
  const whole = Math.floor(seconds || 0);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = String(whole % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

function kindOf(mime) {
  if (!mime) return "document";
  for (const kind of ["image", "audio", "video"]) if (mime.startsWith(`${kind}/`)) return kind;
  return "document";
}

const KINDS = { document: "doc", text: "doc", image: "image", audio: "audio", video: "video" };
const badge = (kind) => el("span", { class: `badge ${kind}` }, KINDS[kind] || kind);

function fileUrl(hit) {
  return `/v1/documents/${hit.doc_id}/file`;
}

const STOPWORDS = new Set(("a an and are as at be but by can did do does for from had has have how i if in " +
  "into is it its me my no not of on or our so than that the their them then there these they this to " +
  "was we were what when where which who whom why will with would you your").split(" "));

// The query's words worth marking: whole words, no stopwords.
function markable(query) {
  const words = (query || "").toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
  return [...new Set(words.filter((w) => w.length > 1 && !STOPWORDS.has(w)))];
}

function highlighted(text, query) {
  const words = markable(query);
  const node = el("p");
  if (!words.length) { node.textContent = text; return node; }
  const alternatives = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${alternatives})(?![\\p{L}\\p{N}])`, "giu");
  for (const [index, piece] of text.split(pattern).entries()) {
    node.append(index % 2 ? el("mark", {}, piece) : piece);
  }
  return node;
}

// A passage cut at a word near ``limit`` characters, with a button for the rest.
function passage(text, query, limit = 280) {
  const words = text.replace(/\s+/g, " ").trim();
  if (words.length <= limit) return highlighted(words, query);
  const cut = words.lastIndexOf(" ", limit);
  const short = `${words.slice(0, cut > limit / 2 ? cut : limit)}…`;
  const paragraph = highlighted(short, query);
  const more = el("button", { type: "button", class: "link more", "aria-expanded": "false" }, "more");
  more.addEventListener("click", () => {
    const open = more.getAttribute("aria-expanded") === "true";
    paragraph.replaceChildren(...highlighted(open ? short : words, query).childNodes);
    paragraph.append(" ", more);
    more.setAttribute("aria-expanded", String(!open));
    more.textContent = open ? "more" : "less";
  });
  paragraph.append(" ", more);
  return paragraph;
}

const MATCHES = { strong: "Strong match", weak: "Weak match", none: "No match" };

// The relevance in words; the raw scores in the tooltip.
function matchChip(hit) {
  if (!hit.relevance) return null;
  const raw = Object.entries(hit.scores || {}).map(([name, value]) => `${name} ${value.toFixed(3)}`);
  const title = [`rank score ${hit.score.toFixed(4)}`, ...raw].join(" · ");
  return el("span", { class: `match ${hit.relevance}`, title }, MATCHES[hit.relevance]);
}

function where(hit) {
  if (hit.page) return `page ${hit.page}`;
  if (hit.t !== null && hit.t !== undefined) return `at ${clock(hit.t)}`;
  if (hit.start !== null && hit.start !== undefined) return `${clock(hit.start)}–${clock(hit.end)}`;
  return "";
}

// One hit, shown the way it is best seen: pictures as thumbnails, sound and video as a play
// button that loads the media only when pressed.
function hitCard(hit, { query = "", number = null } = {}) {
  const label = number ? `[${number}]` : null;
  const card = el("li", { class: "hit", id: number ? `src-${number}` : null, tabindex: number ? "-1" : null,
    dataset: { kind: hit.kind, modality: hit.modality, relevance: hit.relevance || "" } });
  card.append(el("header", {},
    label ? el("span", { class: "number" }, label) : null,
    badge(hit.modality),
    el("span", { class: "source" }, hit.source),
    el("span", {}, where(hit)),
    matchChip(hit),
    el("button", { type: "button", class: "link", "aria-label": `View ${hit.source} ${where(hit)}`.trim(),
      onclick: () => openViewer(hit) }, "View"),
    el("a", { href: hit.modality === "text" ? hit.media_url : fileUrl(hit), target: "_blank", rel: "noopener",
      "aria-label": `Open ${hit.source}` }, "Open"),
  ));
  const start = hit.start ?? hit.t ?? 0;
  if (hit.kind === "keyframe") {
    card.append(playButton(hit, "video", el("img", { src: hit.thumbnail_url, alt: "", loading: "lazy" })));
  } else if (hit.kind === "image") {
    const alt = `Picture from ${hit.source}`;
    card.append(el("button", { type: "button", class: "thumb", "aria-label": `Enlarge: ${alt}`,
      onclick: () => enlarge(hit.media_url, alt) }, el("img", { src: hit.thumbnail_url, alt, loading: "lazy" })));
  } else if (hit.modality === "video" || hit.modality === "audio") {
    card.append(playButton(hit, hit.modality === "video" ? "video" : "audio"));
  }
  if (hit.text) card.append(passage(hit.text, query));
  if (hit.caption) card.append(el("p", { class: "caption" }, hit.caption));
  card.dataset.start = String(start);
  return card;
}

// A play button (over a poster frame, if given) that puts the player in its place when pressed:
// nothing is downloaded before. It starts at the hit's moment and pauses at its end once.
function playButton(hit, tag, poster = null) {
  const start = hit.start ?? hit.t ?? 0;
  const end = hit.end ?? null;
  const span = end !== null ? `${clock(start)}–${clock(end)}` : clock(start);
  const button = el("button", { type: "button", class: poster ? "poster" : "play",
    "aria-label": `Play ${hit.source} from ${clock(start)}` }, poster, el("span", { class: "play-label" }, `▶ ${span}`));
  button.addEventListener("click", () => {
    const media = playing(tag, hit, start, end);
    button.replaceWith(media);
    media.focus();
  });
  return button;
}

// A player of the hit's file that starts at ``start`` once loaded and pauses at ``end`` (when
// known) the first time it gets there; ``loaded`` hears the media's duration.
function playing(tag, hit, start, end, loaded = () => {}) {
  const media = el(tag, { controls: "", preload: "auto", src: fileUrl(hit),
    "aria-label": `${hit.source} from ${clock(start)}`, dataset: { start: String(start) } });
  media.addEventListener("loadedmetadata", () => {
    loaded(media.duration);
    media.currentTime = start;
    media.play().catch(() => {});
  }, { once: true });
  if (end !== null) {
    const stop = () => { if (media.currentTime >= end) { media.pause(); media.removeEventListener("timeupdate", stop); } };
    media.addEventListener("timeupdate", stop);
  }
  return media;
}

// Search results: one card per document (its best hit, the rest folded), the weaker documents
// folded under "less relevant", and "nothing relevant found" when nothing matches.
const PAGE = 8;

function renderResults(results, hits, query) {
  const groups = [];
  const byDoc = new Map();
  for (const hit of hits) {
    if (!byDoc.has(hit.doc_id)) { byDoc.set(hit.doc_id, []); groups.push(byDoc.get(hit.doc_id)); }
    byDoc.get(hit.doc_id).push(hit);
  }
  const order = ["strong", "weak", "none"];
  const tier = (group) => order.indexOf(group[0].relevance || "strong");
  const best = Math.min(...groups.map(tier));
  const top = groups.filter((group) => tier(group) === best);
  const rest = groups.filter((group) => tier(group) !== best);
  const nodes = [];
  if (order[best] === "none") {
    nodes.push(el("li", { class: "nothing" }, "Nothing relevant found. Try other words, or fewer filters."));
    nodes.push(folded("Show the closest anyway", top.concat(rest), query));
  } else {
    nodes.push(...top.slice(0, PAGE).map((group) => groupCard(group, query)));
    if (top.length > PAGE) {
      const more = el("li", { class: "show-more" });
      more.append(el("button", { type: "button", onclick: () => more.replaceWith(...top.slice(PAGE).map((g) => groupCard(g, query))) },
        `Show ${top.length - PAGE} more`));
      nodes.push(more);
    }
    if (rest.length) nodes.push(folded("Less relevant", rest, query));
  }
  results.replaceChildren(...nodes);
}

function folded(title, groups, query) {
  const details = el("details", { class: "less" },
    el("summary", {}, `${title} (${groups.length} document${groups.length === 1 ? "" : "s"})`),
    el("ol", { class: "hits" }, ...groups.map((group) => groupCard(group, query))));
  return el("li", { class: "folded" }, details);
}

function groupCard(group, query) {
  const [first, ...others] = group;
  const card = el("li", { class: "group", dataset: { doc: first.doc_id } });
  const list = el("ol", { class: "hits" }, hitCard(first, { query }));
  card.append(list);
  if (others.length) {
    card.append(el("details", { class: "others" },
      el("summary", {}, `${others.length} more from ${first.source}`),
      el("ol", { class: "hits" }, ...others.map((hit) => hitCard(hit, { query })))));
  }
  return card;
}

// ---------- viewer ----------

// A source inside the app, at its place: a PDF at its page, a picture with the words read in
// it, a recording or video with the cited stretch marked, other documents as their text with
// the cited passage in view.
async function openViewer(hit) {
  const dialog = $("#doc-viewer");
  const body = $("#doc-viewer-body");
  $("#doc-viewer-title").textContent = hit.source;
  $("#doc-viewer-where").textContent = where(hit);
  $("#doc-viewer-file").href = fileUrl(hit);
  body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  body.dataset.kind = "";
  if (!dialog.open) dialog.showModal();
  try {
    if (hit.kind === "image") showPicture(body, hit);
    else if (hit.modality === "audio" || hit.modality === "video") showPlayer(body, hit);
    else {
      const doc = await api(`/v1/documents/${hit.doc_id}`);
      if (doc.mime === "application/pdf") await showPdf(body, hit);
      else await showText(body, hit);
    }
  } catch (error) {
    body.replaceChildren(el("p", { class: "error" }, `This source cannot be shown here: ${error.message}`));
  }
}

function showPicture(body, hit) {
  body.dataset.kind = "picture";
  body.replaceChildren(
    el("img", { src: hit.media_url, alt: `Picture from ${hit.source}`, class: "viewer-picture" }),
    hit.text ? el("p", {}, el("strong", {}, "Text in it: "), hit.text) : el("p", { class: "muted" }, "No text was read in it."),
    hit.caption ? el("p", { class: "caption" }, hit.caption) : null);
}

function showPlayer(body, hit) {
  body.dataset.kind = "player";
  const start = hit.start ?? hit.t ?? 0;
  const end = hit.end ?? (hit.t !== null && hit.t !== undefined ? hit.t + 6 : start + 6);
  const span = el("span", { class: "span" });
  const timeline = el("div", { class: "timeline", role: "img", "aria-label": `The cited stretch: ${clock(start)} to ${clock(end)}` }, span);
  const media = playing(hit.modality === "video" ? "video" : "audio", hit, start, end, (duration) => {
    const length = duration || end;
    span.style.left = `${(100 * start) / length}%`;
    span.style.width = `${Math.max(0.5, (100 * (end - start)) / length)}%`;
  });
  body.replaceChildren(media, timeline, hit.text ? el("p", {}, hit.text) : null,
    hit.caption ? el("p", { class: "caption" }, hit.caption) : null);
}

let pdfjs = null;

async function showPdf(body, hit) {
  if (!pdfjs) {
    pdfjs = await import("/ui/vendor/pdfjs/pdf.min.mjs");
    pdfjs.GlobalWorkerOptions.workerSrc = "/ui/vendor/pdfjs/pdf.worker.min.mjs";
  }
  const pdf = await pdfjs.getDocument({ url: fileUrl(hit), isEvalSupported: false }).promise;
  const canvas = el("canvas", { class: "pdf-page" });
  const label = el("span", { "aria-live": "polite" });
  const previous = el("button", { type: "button" }, "Previous page");
  const next = el("button", { type: "button" }, "Next page");
  let number = Math.min(Math.max(hit.page || 1, 1), pdf.numPages);
  const render = async () => {
    const page = await pdf.getPage(number);
    const width = Math.max(300, body.clientWidth - 24);
    const viewport = page.getViewport({ scale: Math.min(2, width / page.getViewport({ scale: 1 }).width) });
    canvas.width = viewport.width;
    canvas.height = viewport.height;
    canvas.setAttribute("aria-label", `Page ${number} of ${hit.source}`);
    await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    body.dataset.page = String(number);
    label.textContent = `Page ${number} of ${pdf.numPages}${number === hit.page ? " (cited)" : ""}`;
    previous.disabled = number <= 1;
    next.disabled = number >= pdf.numPages;
  };
  previous.addEventListener("click", () => { number -= 1; render(); });
  next.addEventListener("click", () => { number += 1; render(); });
  body.replaceChildren(el("div", { class: "row wrap" }, previous, label, next), canvas);
  body.dataset.kind = "pdf";
  await render();
}

async function showText(body, hit) {
  const { items } = await api(`/v1/documents/${hit.doc_id}/items`);
  const blocks = items.filter((item) => item.text).map((item) => el("section",
    { class: `chunk${item.id === hit.id ? " cited" : ""}`, dataset: { id: item.id } },
    item.page ? el("p", { class: "muted" }, `page ${item.page}`) : null, el("p", {}, item.text)));
  body.dataset.kind = "text";
  body.replaceChildren(...blocks);
  $(".chunk.cited", body)?.scrollIntoView({ block: "center" });
}

function enlarge(url, alt) {
  const dialog = $("#viewer");
  $("#viewer-image").src = url;
  $("#viewer-image").alt = alt;
  dialog.showModal();
}

// ---------- search ----------

let recorded = null;

async function search(event) {
  event.preventDefault();
  const notice = $("#search-notice");
  notice.hidden = true;
  const form = new FormData();
  const query = $("#search-query").value.trim();
  const image = $("#search-image").files[0];
  const audio = $("#search-audio").files[0] || recorded;
  if (!query && !image && !audio) {
    notice.textContent = "Type some words, pick a picture, or record a question.";
    notice.hidden = false;
    return;
  }
  if (query) form.append("query", query);
  if (image) form.append("image", image);
  if (audio) form.append("audio", audio, audio.name || "question.webm");
  for (const box of document.querySelectorAll("input[name=modality]:checked")) form.append("modalities", box.value);
  if ($("#search-doc").value) form.append("doc_ids", $("#search-doc").value);
  form.append("top_k", "20");
  const results = $("#results");
  results.replaceChildren();
  results.setAttribute("aria-busy", "true");
  try {
    const found = await api("/v1/search", { method: "POST", body: form });
    const heard = found.transcript ? `Heard: “${found.transcript}”. ` : "";
    const shownText = found.image_text ? `Text read in the picture: “${found.image_text}”. ` : "";
    renderResults(results, found.hits, `${query} ${found.transcript || ""} ${found.image_text || ""}`);
    if (!found.hits.length || heard || shownText) {
      notice.textContent = heard + shownText + (found.hits.length ? "" : "Nothing found.");
      notice.hidden = false;
    }
  } catch (error) {
    notice.textContent = error.message;
    notice.hidden = false;
  } finally {
    results.setAttribute("aria-busy", "false");
  }
}

async function toggleRecording() {
  const button = $("#record");
  if (button.recorder) { button.recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const recorder = new MediaRecorder(stream);
    const pieces = [];
    recorder.ondataavailable = (e) => pieces.push(e.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      recorded = new File(pieces, "question.webm", { type: recorder.mimeType || "audio/webm" });
      button.recorder = null;
      button.setAttribute("aria-pressed", "false");
      button.textContent = "Record a question";
      $("#search-media").textContent = `Recorded ${size(recorded.size)}; it will be used as the question.`;
    };
    recorder.start();
    button.recorder = recorder;
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Stop recording";
  } catch (error) {
    $("#search-media").textContent = `No microphone: ${error.message}`;
  }
}

async function loadDocumentChoices() {
  try {
    const { documents } = await api("/v1/documents?status=ready&limit=1000");
    const select = $("#search-doc");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "all documents"),
      ...documents.map((doc) => el("option", { value: doc.id }, doc.name)));
    select.value = chosen;
  } catch { /* the status header reports an unreachable server */ }
}

// ---------- ask ----------

// Conversations, kept in this browser: each turn's question and written answer.
const THREADS_KEY = "omnidex.threads";
const HISTORY_TURNS = 6;

function savedThreads() {
  try { return JSON.parse(localStorage.getItem(THREADS_KEY) || "[]"); } catch { return []; }
}

function newThread() {
  state.thread = { id: `t${Date.now().toString(36)}`, title: "", turns: [] };
  renderThread();
}

function keepTurn(question, answer) {
  const thread = state.thread;
  thread.turns.push({ question, answer });
  thread.title ||= question.slice(0, 60);
  thread.updated = Date.now();
  const others = savedThreads().filter((t) => t.id !== thread.id);
  try { localStorage.setItem(THREADS_KEY, JSON.stringify([thread, ...others].slice(0, 50))); } catch { /* full */ }
  renderThread();
}

function renderThread() {
  const thread = state.thread;
  const earlier = thread.turns.slice(0, -1);
  $("#thread").replaceChildren(...earlier.map((turn) => {
    const said = el("div", { class: "a markdown" });
    said.innerHTML = markdown(withoutMarks(turn.answer));
    return el("li", { class: "turn" }, el("p", { class: "q" }, turn.question), said);
  }));
  const select = $("#threads");
  const threads = savedThreads();
  select.replaceChildren(el("option", { value: "" }, threads.length ? "choose one" : "none yet"),
    ...threads.map((t) => el("option", { value: t.id }, `${t.title || "untitled"} (${t.turns.length})`)));
  select.value = threads.some((t) => t.id === thread.id) ? thread.id : "";
}

function openThread(id) {
  const found = savedThreads().find((t) => t.id === id);
  if (!found) return;
  state.thread = found;
  renderThread();
  const last = found.turns.at(-1);
  const answer = $("#answer");
  answer.hidden = !last;
  if (last) { answer.classList.add("markdown"); answer.innerHTML = markdown(withoutMarks(last.answer)); }
  $("#ask-sources").replaceChildren();
  $("#sources-title").hidden = true;
}

// The request for one question: JSON, or a form when a picture or a recording goes with it.
function answerRequest(question, image, audio, options) {
  if (!image && !audio) {
    return { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: question || null, ...options }) };
  }
  const form = new FormData();
  if (question) form.append("query", question);
  if (image) form.append("image", image);
  if (audio) form.append("audio", audio);
  for (const [key, value] of Object.entries(options)) form.append(key, typeof value === "string" ? value : JSON.stringify(value));
  return { method: "POST", body: form };
}

async function ask(event) {
  event.preventDefault();
  const question = $("#ask-query").value.trim();
  const image = $("#ask-image").files[0];
  const audio = $("#ask-audio").files[0];
  if (!question && !image && !audio) return;
  const answer = $("#answer");
  const notice = $("#ask-notice");
  const sources = $("#ask-sources");
  const speak = $("#ask-speak").checked;
  const mode = $("#ask-mode").value;
  const thinking = $("#thinking");
  thinking.hidden = true;
  thinking.open = false;
  $("#thinking-text").textContent = "";
  answer.hidden = false;
  answer.classList.remove("markdown");
  answer.textContent = "";
  answer.dataset.audioChunks = "0";
  answer.setAttribute("aria-busy", "true");
  notice.hidden = true;
  sources.replaceChildren();
  $("#sources-title").hidden = true;
  const speaker = speak ? new Speaker() : null;
  const history = state.thread.turns.slice(-HISTORY_TURNS).flatMap((turn) => [
    { role: "user", content: turn.question }, { role: "assistant", content: turn.answer }]).filter((t) => t.content);
  let text = "";
  let hits = [];
  let heard = "";
  try {
    const response = await fetch("/v1/answer", answerRequest(question, image, audio, { stream: true, speak, mode, history }));
    if (response.status === 401) signIn(await errorText(response.clone()));
    if (!response.ok) throw new Error(await errorText(response));
    for await (const [name, data] of events(response)) {
      if (name === "retrieval") {
        hits = data.hits;
        heard = data.transcript || data.image_text || "";
        $("#sources-title").hidden = !hits.length;
        sources.replaceChildren(...hits.map((hit, i) => hitCard(hit, { query: `${question} ${heard}`, number: i + 1 })));
      } else if (name === "thinking") {
        thinking.hidden = false;
        $("#thinking-text").textContent += data.text;
      } else if (name === "text") {
        text += data.text;
        answer.textContent = text;
      } else if (name === "audio") {
        speaker?.play(data.data, data.sample_rate);
        answer.dataset.audioChunks = String(Number(answer.dataset.audioChunks) + 1);
      } else if (name === "notice" || name === "error") {
        notice.textContent = data.message;
        notice.hidden = false;
      } else if (name === "citations") {
        renderCited(answer, text, data.citations);
      }
    }
    if (!text) answer.hidden = true;
    else {
      keepTurn(question || (image ? `(a picture) ${heard}` : `(a recording) ${heard}`).trim(), text);
      $("#ask-query").value = "";
      $("#ask-image").value = "";
      $("#ask-audio").value = "";
    }
  } catch (error) {
    notice.textContent = error.message;
    notice.hidden = false;
  } finally {
    answer.setAttribute("aria-busy", "false");
  }
}

// Server-sent events from a fetch() body: [name, data] pairs.
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) yield [name, JSON.parse(data.join("\n"))];
    }
  }
}

// The answer as Markdown, sanitized (the model's own HTML is shown as text, never run), with
// each [n] that names a source as a link that previews it, and every other [n] removed.
function renderCited(answer, text, citations) {
  const known = new Map(citations.map((c) => [c.number, c]));
  const kept = withoutMarks(text, (number) => known.has(number));
  answer.classList.add("markdown");
  answer.innerHTML = markdown(kept);
  const walker = document.createTreeWalker(answer, NodeFilter.SHOW_TEXT);
  const marked = [];
  while (walker.nextNode()) if (/\[\d+\]/.test(walker.currentNode.nodeValue)) marked.push(walker.currentNode);
  for (const node of marked) {
    const pieces = node.nodeValue.split(/(\[\d+\])/);
    node.replaceWith(...pieces.map((piece, index) => {
      const hit = index % 2 ? known.get(Number(piece.slice(1, -1))) : null;
      return hit ? citeLink(hit, piece) : piece;
    }));
  }
}

// ``text`` without its [n] marks, but for those ``keep`` says to keep.
function withoutMarks(text, keep = () => false) {
  return text.replace(/\s?\[(\d+)\]/g, (mark, n) => (keep(Number(n)) ? mark : ""));
}

function markdown(text) {
  if (!window.marked || !window.DOMPurify) return escapeHtml(text).replace(/\n/g, "<br>");
  const html = window.marked.parse(text, { async: false, gfm: true, breaks: true,
    renderer: Object.assign(new window.marked.Renderer(), { html: ({ text: raw }) => escapeHtml(raw) }) });
  return window.DOMPurify.sanitize(html, { FORBID_TAGS: ["style", "form", "input", "img"], FORBID_ATTR: ["style"] });
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A citation: focusing or hovering it previews the source; following it opens the source below.
function citeLink(hit, text) {
  const number = hit.number;
  const id = `preview-${number}-${Math.random().toString(36).slice(2, 8)}`;
  const link = el("a", { class: "cite", href: `#src-${number}`, "aria-describedby": id,
    "aria-label": `Source ${number}: ${hit.source} ${where(hit)}`,
    onclick: (event) => { event.preventDefault(); openSource(number, false); openViewer(hit); } }, text);
  const preview = el("span", { class: "preview", id, hidden: "" },
    el("strong", {}, `${hit.source}`), el("span", { class: "muted" }, ` ${where(hit)}`),
    hit.thumbnail_url ? el("img", { src: hit.thumbnail_url, alt: "" }) : null,
    hit.text ? el("span", { class: "snippet" }, hit.text.length > 220 ? `${hit.text.slice(0, 220)}…` : hit.text) : null,
    hit.caption ? el("span", { class: "snippet" }, hit.caption) : null,
    hit.modality === "audio" || hit.modality === "video" ? playButton(hit, hit.modality) : null);
  const wrap = el("span", { class: "cite-wrap" }, link, preview);
  const open = () => { preview.hidden = false; };
  const close = () => { preview.hidden = true; };
  link.addEventListener("focus", open);
  wrap.addEventListener("focusout", (event) => { if (!wrap.contains(event.relatedTarget)) close(); });
  wrap.addEventListener("mouseenter", open);
  wrap.addEventListener("mouseleave", close);
  link.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  return wrap;
}

function openSource(number, play = true) {
  const card = $(`#src-${number}`);
  if (!card) return;
  for (const other of document.querySelectorAll(".hit.highlight")) other.classList.remove("highlight");
  card.classList.add("highlight");
  card.scrollIntoView({ block: "center" });
  card.focus();
  const media = $("audio, video", card);
  if (!play) return;
  if (media) {
    media.currentTime = Number(media.dataset.start || 0);
    media.play().catch(() => {});
  } else {
    $("button.play, button.poster", card)?.click();
  }
}

// Plays 24 kHz PCM16 chunks back to back as they arrive.
class Speaker {
  constructor() {
    this.context = new AudioContext();
    this.next = 0;
  }

  play(base64, rate) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const samples = new Int16Array(bytes.buffer, 0, Math.floor(bytes.length / 2));
    if (!samples.length) return;
    const buffer = this.context.createBuffer(1, samples.length, rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i += 1) channel[i] = samples[i] / 32768;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    this.next = Math.max(this.next, this.context.currentTime);
    source.start(this.next);
    this.next += buffer.duration;
  }
}

// ---------- library ----------

const following = new Map(); // document id → its EventSource, while it is queued or processing

async function loadLibrary() {
  const list = $("#library");
  const status = $("#filter-status").value;
  const type = $("#filter-type").value;
  const name = $("#filter-name").value.trim().toLowerCase();
  try {
    const { documents } = await api(`/v1/documents?limit=1000${status ? `&status=${status}` : ""}`);
    const shown = documents.filter((doc) => (!type || kindOf(doc.mime) === type)
      && (!name || doc.name.toLowerCase().includes(name)));
    const picked = new Set([...list.querySelectorAll(".pick:checked")].map((box) => box.closest(".doc").dataset.id));
    list.replaceChildren(...shown.map(docRow));
    for (const id of picked) { const box = $(`.doc[data-id="${id}"] .pick`, list); if (box) box.checked = true; }
    if (!shown.length) list.append(el("li", { class: "muted" }, name ? `No document is named like “${name}”.` : "No documents here yet."));
    for (const doc of shown) if (doc.status === "queued" || doc.status === "processing") followRow(doc.id);
    selectionChanged();
  } catch (error) {
    list.replaceChildren(el("li", { class: "error" }, error.message));
  }
}

// A queued or processing document's row follows its events: progress, then ready or failed.
function followRow(id) {
  if (following.has(id)) return;
  const source = new EventSource(`/v1/documents/${id}/events`);
  following.set(id, source);
  const update = (event) => {
    const doc = JSON.parse(event.data);
    const row = $(`.doc[data-id="${id}"]`);
    if (row) {
      const fresh = docRow(doc);
      $(".pick", fresh).checked = $(".pick", row).checked;
      row.replaceWith(fresh);
    }
    if (event.type !== "progress") { source.close(); following.delete(id); selectionChanged(); }
  };
  for (const name of ["progress", "ready", "failed"]) source.addEventListener(name, update);
  source.addEventListener("deleted", () => { source.close(); following.delete(id); $(`.doc[data-id="${id}"]`)?.remove(); });
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) following.delete(id); };
}

function docRow(doc) {
  const kind = kindOf(doc.mime);
  const counts = Object.entries(doc.items_by_modality).map(([m, n]) => `${n} ${m}`).join(", ");
  const added = new Date(doc.created_at).toLocaleString();
  const working = doc.status === "queued" || doc.status === "processing";
  const state = working ? `${doc.status}${doc.stage ? `: ${doc.stage}` : ""}` : doc.status;
  return el("li", { class: `doc ${doc.status}`, dataset: { id: doc.id, status: doc.status } },
    el("input", { type: "checkbox", class: "pick writer-only", "aria-label": `Select ${doc.name}`, onchange: selectionChanged }),
    badge(kind),
    el("button", { type: "button", class: "name", "aria-label": `Open ${doc.name}`, onclick: () => openDocument(doc) }, doc.name),
    el("span", { class: "actions writer-only" },
      doc.status === "failed" ? el("button", { type: "button", "aria-label": `Retry ${doc.name}`, onclick: () => retry(doc) }, "Retry") : null,
      el("button", { type: "button", class: "danger", "aria-label": `Delete ${doc.name}`, onclick: () => remove(doc) }, "Delete")),
    el("span", { class: "meta" }, `${size(doc.size)} · ${state}${counts ? ` · ${counts}` : ""} · added ${added}`),
    working ? el("progress", { max: "100", value: String(Math.round(doc.progress * 100)), "aria-label": `Indexing ${doc.name}` }) : null,
    doc.error ? el("span", { class: "reason error" }, `Failed: ${doc.error.message}`) : null,
    ...(doc.notes || []).map((note) => el("span", { class: "reason muted" }, note)),
  );
}

async function retry(doc) {
  try {
    const queued = await api(`/v1/documents/${doc.id}/retry`, { method: "POST" });
    $(`.doc[data-id="${doc.id}"]`)?.replaceWith(docRow(queued));
    followRow(doc.id);
  } catch (error) {
    alert(error.message);
  }
}

function selectionChanged() {
  const picked = document.querySelectorAll("#library .pick:checked").length;
  const button = $("#delete-selected");
  button.disabled = picked === 0;
  button.textContent = picked ? `Delete selected (${picked})` : "Delete selected";
}

async function removeSelected() {
  const rows = [...document.querySelectorAll("#library .pick:checked")].map((box) => box.closest(".doc"));
  if (!rows.length || !confirm(`Delete ${rows.length} document${rows.length === 1 ? "" : "s"} and everything found in them?`)) return;
  for (const row of rows) {
    try {
      await api(`/v1/documents/${row.dataset.id}`, { method: "DELETE" });
    } catch (error) {
      alert(error.message);
    }
  }
  await loadLibrary();
}

async function openDocument(doc) {
  const detail = $("#doc-detail");
  detail.hidden = false;
  $("#doc-title").textContent = doc.name;
  const list = $("#doc-items");
  try {
    const { items } = await api(`/v1/documents/${doc.id}/items`);
    list.replaceChildren(...items.map((item) => hitCard(item)));
    if (!items.length) list.append(el("li", { class: "muted" }, doc.error ? doc.error.message : "Nothing indexed yet."));
  } catch (error) {
    list.replaceChildren(el("li", { class: "error" }, error.message));
  }
  detail.scrollIntoView({ block: "start" });
}

async function remove(doc) {
  if (!confirm(`Delete “${doc.name}” and everything found in it?`)) return;
  try {
    await api(`/v1/documents/${doc.id}`, { method: "DELETE" });
    $("#doc-detail").hidden = true;
    await loadLibrary();
  } catch (error) {
    alert(error.message);
  }
}

// ---------- upload ----------

function uploadAll(files) {
  for (const file of files) upload(file);
}

function upload(file) {
  const bar = el("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
  const stateText = el("span", { class: "state" }, "uploading");
  const row = el("li", { class: "upload", dataset: { name: file.name } },
    el("strong", {}, file.name), el("span", { class: "muted" }, size(file.size)), bar, stateText);
  $("#uploads").prepend(row);
  const finish = (status, message) => {
    row.classList.add(status);
    row.dataset.status = status;
    stateText.textContent = message;
    bar.value = 100;
    bar.hidden = status === "failed"; // a failed file does not look done
  };
  const limit = state.info?.max_upload_bytes;
  if (limit && file.size > limit) {
    finish("failed", `refused: ${size(file.size)} is over the ${size(limit)} upload limit`);
    return;
  }
  if (file.size === 0) {
    finish("failed", "refused: the file is empty");
    return;
  }
  const form = new FormData();
  form.append("files", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", "/v1/documents");
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
  };
  request.onerror = () => finish("failed", "the upload was interrupted");
  request.onload = () => {
    let body = {};
    try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
    if (request.status === 401) signIn(body.error?.message);
    if (request.status !== 202) {
      finish("failed", body.error?.message || `refused (HTTP ${request.status})`);
      return;
    }
    const [doc] = body.documents;
    row.dataset.id = doc.id;
    bar.value = 0;
    bar.setAttribute("aria-label", `Indexing ${file.name}`);
    stateText.textContent = doc.duplicate ? "already uploaded" : "queued";
    follow(doc.id, bar, stateText, finish, doc.duplicate ? "already uploaded, " : "");
  };
  request.send(form);
}

function follow(id, bar, stateText, finish, prefix = "") {
  const source = new EventSource(`/v1/documents/${id}/events`);
  source.addEventListener("progress", (event) => {
    const doc = JSON.parse(event.data);
    bar.value = Math.round(doc.progress * 100);
    stateText.textContent = `${doc.status}${doc.stage ? `: ${doc.stage}` : ""}`;
  });
  source.addEventListener("ready", (event) => {
    const doc = JSON.parse(event.data);
    const counts = Object.entries(doc.items_by_modality).map(([m, n]) => `${n} ${m}`).join(", ");
    finish("ready", `${prefix}ready${counts ? `: ${counts}` : ""}`);
    source.close();
  });
  source.addEventListener("failed", (event) => {
    const doc = JSON.parse(event.data);
    finish("failed", `${prefix}failed: ${doc.error?.message || "unknown reason"}`);
    source.close();
  });
  source.addEventListener("deleted", () => { finish("failed", "deleted"); source.close(); });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) finish("failed", "lost contact with the server");
  };
}

// ---------- wiring ----------

function wire() {
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => show(button.dataset.panel));
  }
  $("#search-form").addEventListener("submit", search);
  $("#record").addEventListener("click", toggleRecording);
  if (!window.MediaRecorder || !navigator.mediaDevices) $("#record").hidden = true;
  for (const id of ["#search-image", "#search-audio"]) {
    $(id).addEventListener("change", () => {
      const names = [$("#search-image").files[0]?.name, $("#search-audio").files[0]?.name].filter(Boolean);
      $("#search-media").textContent = names.length ? `Searching with ${names.join(" and ")}.` : "";
    });
  }
  $("#ask-form").addEventListener("submit", ask);
  $("#new-thread").addEventListener("click", () => {
    newThread();
    $("#answer").hidden = true;
    $("#ask-sources").replaceChildren();
    $("#sources-title").hidden = true;
    $("#ask-query").focus();
  });
  $("#threads").addEventListener("change", () => openThread($("#threads").value));
  $("#ask-mode").addEventListener("change", explainMode);
  newThread();
  $("#ask-query").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("#ask-form").requestSubmit(); }
  });
  $("#filter-type").addEventListener("change", loadLibrary);
  $("#filter-status").addEventListener("change", loadLibrary);
  $("#refresh").addEventListener("click", loadLibrary);
  $("#filter-name").addEventListener("input", loadLibrary);
  $("#delete-selected").addEventListener("click", removeSelected);
  // New documents (from other tabs, `omnidex sync`, the API) appear while the library is open.
  setInterval(() => { if (state.panel === "library" && !document.hidden) loadLibrary(); }, 10_000);
  const input = $("#upload-input");
  input.addEventListener("change", () => { uploadAll(input.files); input.value = ""; });
  const drop = $("#drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    uploadAll(event.dataTransfer.files);
  });
  const fromHash = () => {
    const wanted = location.hash.slice(1);
    if (PANELS.includes(wanted) && wanted !== state.panel) show(wanted);
  };
  window.addEventListener("hashchange", fromHash);
  $("#signin-form").addEventListener("submit", submitKey);
  $("#signin").addEventListener("cancel", (event) => event.preventDefault()); // no way around it
  $("#sign-out").addEventListener("click", signOut);
  whoAmI().then((known) => { if (known) openFirstPanel(); });
}

wire();
