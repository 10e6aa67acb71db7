// The studio page: reads the options from the URL into the form, asks the JSON API, renders.
// Nothing is decided here: names, defaults and bounds come from /api/options, poems with
// their tones and rhyme positions from /api/write, /api/reconstruct and /api/interpolate.
// Revision: on any card, kept characters become a /api/write pattern (＿ where free) that
// redraws the rest with the card's own options; each card keeps its versions for undo.

const API = { write: "/api/write", reconstruct: "/api/reconstruct", interpolate: "/api/interpolate" };
const PATH = { write: "/", reconstruct: "/reconstruct", interpolate: "/interpolate" };
// each rule's name on the page and its English gloss (the verdict's title)
const RULES = {
  alternation: ["二四分明", "the 2nd and 4th characters of a line differ in tone"],
  opposition: ["对", "the two lines of a couplet have opposite tones at 2 and 4"],
  level_rhyme: ["韵脚平", "the rhyme characters are level (平)"],
  no_three_level_tail: ["无三平尾", "no line ends in three level tones"],
  rhyme: ["押韵", "the even lines end in one rhyme"],
  adhesion: ["粘", "each couplet starts on the tone that ended the one before"],
};

const FREE = "＿_○*"; // what marks a free position of a pattern; the page writes the first
const BREAKS = /[，。！？；：、,.!?;:\s　]+/g; // what separates lines, as text/corpus.py reads them

const $ = (sel, root = document) => root.querySelector(sel);
const form = $("#controls");
let spec = null; // /api/options
let tab = "write";
const revisions = new WeakMap(); // card -> { now: version, before: [versions] }
const vocabs = {}; // form -> Promise of Map(character -> tone mark), from /api/vocab

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function tabOf(pathname) {
  return Object.keys(PATH).find((t) => PATH[t] === pathname) || "write";
}

function fields() {
  // the form's inputs that belong to the current tab's options, by option name
  const names = Object.keys(spec[tab]);
  return names.map((name) => [name, form.elements[name]]).filter(([, input]) => input);
}

function setField(input, value) {
  if (input instanceof RadioNodeList) input.value = value;
  else if (input.type === "radio") input.checked = input.value === value; // a lone form button
  else if (input.type === "checkbox") input.checked = value === true || value === "true" || value === "1";
  else input.value = value ?? "";
}

function getField(input) {
  if (input instanceof RadioNodeList) return input.value;
  if (input.type === "radio") return input.checked ? input.value : "";
  if (input.type === "checkbox") return input.checked;
  return input.value.trim();
}

function fillFrom(params) {
  for (const [name, input] of fields()) {
    const given = params.get(name) ?? params.get(name.replace("_", "-"));
    setField(input, given ?? spec[tab][name].default);
  }
}

function compact(entries, table) {
  // only what differs from the defaults, so that links stay short
  const q = new URLSearchParams();
  for (const [name, value] of entries) {
    const fallback = table[name]?.default;
    if (value === "" || value == null || String(value) === String(fallback)) continue;
    q.set(name, String(value));
  }
  return q;
}

function query() {
  return compact(fields().map(([name, input]) => [name, getField(input)]), spec[tab]);
}

async function ask(path, q) {
  const response = await fetch(`${path}?${q}`);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text, kind = "") {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

function showTab(name) {
  tab = name;
  document.body.dataset.tab = name;
  for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("on", a.dataset.tab === name);
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.dataset.for !== name;
  $("#go").firstChild.textContent = { write: "写 ", reconstruct: "复原 ", interpolate: "插值 " }[name];
  $("#go small").textContent = name;
}

function keptOf(options, lines) {
  // the positions a write request fixed: its pattern's characters and its acrostic's heads
  const n = [...lines[0]].length;
  const kept = Array(n * lines.length).fill(false);
  [...(options.pattern || "").replace(BREAKS, "")].forEach((c, k) => { if (!FREE.includes(c)) kept[k] = true; });
  [...(options.acrostic || "").replace(BREAKS, "")].forEach((c, i) => { kept[i * n] = true; });
  return kept.slice(0, n * lines.length);
}

function poemCard(p, extra) {
  // extra: options (of the write request the poem answers), label, changed (reconstruct's marks)
  const card = el("article", { class: "poem" });
  revisions.set(card, { now: { p, kept: keptOf(extra.options, p.lines), ...extra }, before: [] });
  drawCard(card);
  return card;
}

function drawCard(card) {
  const { now, before } = revisions.get(card);
  const { p } = now;
  const n = [...p.lines[0]].length;
  const rhymes = new Set(p.rhyme_positions.map(([i, j]) => `${i},${j}`));
  card.dataset.poem = p.lines.map((line, i) => line + (i % 2 ? "。" : "，")).join("");
  card.dataset.version = before.length;
  const rows = p.lines.map((line, i) => {
    const row = el("div", { class: "line" }, el("button", { type: "button", class: "ln", text: i + 1 }));
    [...line].forEach((ch, j) => {
      const k = i * n + j;
      const tone = p.tones[i][j];
      const cell = el("span", { class: `ch t-${tone}`, "data-tone": tone, "data-pos": k, title: tone, tabindex: 0, role: "button" }, el("span", { class: "glyph", text: ch }), el("i", { text: tone }));
      if (rhymes.has(`${i},${j}`)) cell.classList.add("rhyme");
      if (now.edits?.has(k)) cell.classList.add("edited");
      if (now.changed && !now.changed[k]) cell.classList.add("changed");
      row.append(cell);
    });
    row.append(el("span", { class: "punct", text: i % 2 ? "。" : "，" }));
    return row;
  });
  const meta = el("footer", { class: "meta" });
  if (now.label) meta.append(el("span", { class: "label", text: now.label }));
  if (now.edits) {
    meta.append(el("span", { class: "off", text: "改过字 edited: 重写 redraws the rest" }));
  } else {
    const failed = Object.entries(p.rules).filter(([k, ok]) => ok === false && k !== "all").map(([k]) => RULES[k] || [k, k]);
    const rhyme = p.rhyme_groups.length ? `${p.rhyme_book} ${p.rhyme_groups.join("/")}` : "不押韵";
    meta.append(el("span", { class: "rhyme-name", text: rhyme, title: p.rhyme_groups.length ? `rhyme by ${p.rhyme_book}` : `no shared rhyme in ${p.rhyme_book}` }));
    const verdict = p.rules.all
      ? el("span", { class: "ok", text: "合律", title: "follows the rules of regulated verse" })
      : el("span", { class: "off", text: `失 ${failed.map(([zh]) => zh).join(" ")}`, title: `breaks: ${failed.map(([, en]) => en).join("; ")}` });
    meta.append(verdict);
  }
  const tools = el("span", { class: "revise" });
  tools.append(el("button", { type: "button", "data-act": "rewrite", title: "redraw what is not kept" }, "重写 ", el("small", { text: "rewrite" })));
  const undo = el("button", { type: "button", "data-act": "undo", title: "back to the previous version" }, "撤销 ", el("small", { text: "undo" }));
  undo.disabled = before.length === 0;
  tools.append(undo);
  if (now.link) tools.append(el("a", { class: "link", href: now.link, title: "this version's link" }, "链接"));
  meta.append(tools);
  card.replaceChildren(...rows, meta);
  markKept(card);
}

function markKept(card) {
  // in place, so that a double click's second click lands where its first did
  const { kept } = revisions.get(card).now;
  for (const cell of card.querySelectorAll(".ch")) {
    cell.classList.toggle("kept", kept[cell.dataset.pos]);
    cell.setAttribute("aria-pressed", kept[cell.dataset.pos]);
  }
  for (const row of card.querySelectorAll(".line")) {
    const all = [...row.querySelectorAll(".ch")].every((c) => c.classList.contains("kept"));
    row.classList.toggle("kept", all);
    row.querySelector(".ln").title = all ? "free this line" : "keep this line";
  }
}

function toggle(card, positions) {
  // keep them all, or free them all when every one is kept already
  const { now } = revisions.get(card);
  const keep = !positions.every((k) => now.kept[k]);
  for (const k of positions) now.kept[k] = keep;
  markKept(card);
}

function writeDefaults(formName) {
  return { ...Object.fromEntries(Object.entries(spec.write).map(([k, v]) => [k, v.default])), form: formName };
}

function patternOf({ p, kept }) {
  // the whole poem with ＿ where free; null when nothing is kept
  if (!kept.some(Boolean)) return null;
  const n = [...p.lines[0]].length;
  return p.lines.map((line, i) => [...line].map((c, j) => (kept[i * n + j] ? c : FREE[0])).join("")).join("，");
}

function share(link) {
  $("#share").href = link;
  $("#share").textContent = decodeURIComponent(link);
}

async function rewrite(card) {
  const r = revisions.get(card);
  if (r.busy) return;
  r.busy = true;
  const { seed, ...options } = r.now.options; // a fresh seed each time; the answer echoes it
  Object.assign(options, { n: 1, pattern: patternOf(r.now) });
  say("…", "busy");
  try {
    const data = await ask(API.write, compact(Object.entries(options), spec.write));
    const p = data.poems[0];
    const link = `${PATH.write}?${compact(Object.entries(data.options), spec.write)}`;
    remember(r);
    r.now = { p, kept: keptOf(data.options, p.lines), options: data.options, link };
    drawCard(card);
    share(link);
    say("");
  } catch (err) {
    say(err.message, "error");
  } finally {
    r.busy = false;
  }
}

function remember(r) {
  r.before.push({ ...r.now, kept: [...r.now.kept] }); // the kept marks change in place
}

function undo(card) {
  const r = revisions.get(card);
  if (!r.before.length) return;
  r.now = r.before.pop();
  drawCard(card);
  if (r.now.link) share(r.now.link);
}

function vocab(formName) {
  vocabs[formName] ??= ask("/api/vocab", new URLSearchParams({ form: formName }))
    .then((d) => new Map(Array.from(d.chars, (c, i) => [c, d.tones[i]])))
    .catch((err) => { delete vocabs[formName]; throw err; });
  return vocabs[formName];
}

function edit(card, cell) {
  // type a character over this one: it then counts as kept
  const r = revisions.get(card);
  const k = Number(cell.dataset.pos);
  const before = cell.querySelector(".glyph").textContent;
  const input = el("input", { class: "edit", value: before, "aria-label": "character", autocomplete: "off" });
  cell.querySelector(".glyph").replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (commit) => {
    if (done) return;
    done = true;
    const typed = input.value.trim();
    try {
      if (commit && typed !== before) {
        const next = edited(r.now, k, typed, await vocab(r.now.options.form));
        remember(r);
        r.now = next;
      }
      if (commit) say("");
    } catch (err) {
      say(err.message, "error");
    }
    drawCard(card);
  };
  input.addEventListener("keydown", (e) => {
    if (e.isComposing) return; // Enter ends an input method's composition first
    if (e.key === "Enter") { e.preventDefault(); finish(true); }
    if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

function edited(now, k, typed, tones) {
  // the version with `typed` at position k, kept; refused in one line unless it is one known character
  const chars = [...typed];
  if (chars.length !== 1) throw new Error(`type one character, not ${chars.length}: ${typed || "(nothing)"}`);
  if (!tones.has(typed)) throw new Error(`${typed} is not in the ${now.options.form} model's vocabulary`);
  const n = [...now.p.lines[0]].length;
  const [i, j] = [Math.floor(k / n), k % n];
  const swap = (s, x) => { const a = [...s]; a[j] = x; return a.join(""); };
  const lines = now.p.lines.map((line, l) => (l === i ? swap(line, typed) : line));
  const p = { ...now.p, lines, tones: now.p.tones.map((t, l) => (l === i ? swap(t, tones.get(typed)) : t)) };
  const kept = [...now.kept];
  kept[k] = true;
  return { ...now, p, kept, link: null, edits: new Set([...(now.edits || []), k]) };
}

function render(data) {
  const out = $("#poems");
  out.replaceChildren();
  out.dataset.form = data.form;
  out.dataset.chars = (spec.forms[data.form] || {}).chars_per_line || 5; // card width by line length
  const options = tab === "write" ? data.options : writeDefaults(data.form);
  if (tab === "write") data.poems.forEach((p) => out.append(poemCard(p, { options })));
  if (tab === "interpolate") data.poems.forEach((p) => out.append(poemCard(p, { options, label: `t = ${p.t.toFixed(2)}` })));
  if (tab === "reconstruct") {
    const label = `kept ${Math.round(100 * data.kept_share)} % (shaded: changed)`;
    out.append(poemCard(data, { options, changed: data.kept, label }));
    if (data.read !== data.options.poem) out.append(el("p", { class: "note", text: `read in Simplified script: ${data.read}` }));
    if (data.unknown.length) out.append(el("p", { class: "note", text: `not in the vocabulary (read as <unk>): ${data.unknown.join("")}` }));
  }
}

async function run({ push = true } = {}) {
  const q = query();
  say("…", "busy");
  try {
    const data = await ask(API[tab], q);
    render(data);
    // the server echoes the seed it used: the link writes these very poems again
    if (tab === "write" && !q.has("seed")) q.set("seed", data.options.seed);
    const link = `${PATH[tab]}${q.size ? "?" + q : ""}`;
    share(link);
    if (push && link !== location.pathname + location.search) history.pushState(null, "", link);
    say("");
  } catch (err) {
    say(err.message, "error");
  }
}

function revise(e) {
  // clicks on a card: a character keeps it, a line number the line, and the card's buttons
  const card = e.target.closest(".poem");
  if (!card || !revisions.has(card) || e.target.closest("input")) return;
  const n = [...revisions.get(card).now.p.lines[0]].length;
  const cell = e.target.closest(".ch");
  const number = e.target.closest(".ln");
  const act = e.target.closest("[data-act]")?.dataset.act;
  const k = cell && Number(cell.dataset.pos);
  if (e.type === "dblclick" && cell) {
    toggle(card, [k]); // undo the first click's: only a typed character is kept
    edit(card, cell);
  } else if (e.type === "keydown" && cell && (e.key === "Enter" || e.key === " ")) {
    e.preventDefault(); // space keeps a focused character, Enter changes it
    if (e.key === " ") toggle(card, [k]);
    else edit(card, cell);
  } else if (e.type !== "click") return;
  else if (cell && e.detail <= 1) toggle(card, [k]); // a double click's second click edits
  else if (number) toggle(card, Array.from({ length: n }, (_, j) => (Number(number.textContent) - 1) * n + j));
  else if (act === "rewrite") rewrite(card);
  else if (act === "undo") undo(card);
}

function bounds() {
  // the server's ranges on the number inputs, and why a bound is tighter than the CLI's
  for (const [name, info] of Object.entries(spec.write)) {
    const input = form.elements[name];
    if (!input || input.type !== "number") continue;
    if (info.min !== undefined) input.min = info.min;
    if (info.max !== undefined) input.max = info.max;
    if (info.why) input.title = info.why;
  }
}

function formButtons() {
  // one button per form the server has a model for, in its order, plus the default form and a
  // form the link names, so that such a link is still read (the API answers with its error)
  const named = new URLSearchParams(location.search).get("form");
  const fieldset = $("fieldset.forms");
  for (const [name, info] of Object.entries(spec.forms)) {
    if (!info.available && name !== named && name !== spec.write.form.default) continue;
    const input = el("input", { type: "radio", name: "form", value: name });
    const label = el("label", {}, input, ` ${info.name_zh} `, el("small", { text: `${info.chars_per_line} × ${info.lines}` }));
    if (!info.available) label.classList.add("missing");
    label.title = info.available ? info.title : `${info.title}: no model on this server`;
    fieldset.append(label);
  }
}

function formFields() {
  // the temperature and presence fields show the chosen form's model's own; the 题 field says when that
  // model was trained without keywords (what is typed there is still sent: the server's error
  // names the problem)
  const info = spec.forms[getField(form.elements.form)] || {};
  for (const name of ["temperature", "presence"]) {
    form.elements[name].placeholder = `model's: ${info[name]}`;
  }
  const input = form.elements.keywords;
  if (!input) return;
  input.placeholder = info.keywords ? "明月,故乡" : "none: not in this model";
  input.title = info.keywords
    ? "one to four words the poems are about"
    : "this form's model was trained without keywords";
}

function ready() {
  bounds();
  formButtons();
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  for (const type of ["click", "dblclick", "keydown"]) $("#poems").addEventListener(type, revise);
  for (const radio of form.querySelectorAll("input[name=form]")) {
    radio.addEventListener("change", () => { formFields(); run(); });
  }
  for (const a of document.querySelectorAll(".tabs a")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      const keep = getField(form.elements.form);
      showTab(a.dataset.tab);
      fillFrom(new URLSearchParams({ form: keep }));
      history.pushState(null, "", PATH[tab] + (keep === spec[tab].form.default ? "" : `?form=${keep}`));
      $("#poems").replaceChildren();
      if (tab === "write") run({ push: false });
    });
  }
  window.addEventListener("popstate", load);
  load();
}

function load() {
  const params = new URLSearchParams(location.search);
  showTab(tabOf(location.pathname));
  fillFrom(params);
  formFields();
  const needs = { write: [], reconstruct: ["poem"], interpolate: ["a", "b"] }[tab];
  if (needs.every((name) => params.get(name))) run({ push: false });
}

fetch("/api/options")
  .then((r) => r.json())
  .then((data) => { spec = data; ready(); })
  .catch((err) => { $("#status").textContent = `cannot reach the server: ${err.message}`; });
