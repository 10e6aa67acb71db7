// The studio page: reads the options from the URL into the form, asks the JSON API, renders.
// Nothing is decided here: names, defaults and bounds come from /api/options, poems with
// their tones and rhyme positions from /api/write, /api/reconstruct and /api/interpolate.

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

const $ = (sel, root = document) => root.querySelector(sel);
const form = $("#controls");
let spec = null; // /api/options
let tab = "write";

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
  else if (input.type === "checkbox") input.checked = value === true || value === "true" || value === "1";
  else input.value = value ?? "";
}

function getField(input) {
  if (input instanceof RadioNodeList) return input.value;
  if (input.type === "checkbox") return input.checked;
  return input.value.trim();
}

function fillFrom(params) {
  for (const [name, input] of fields()) {
    const given = params.get(name) ?? params.get(name.replace("_", "-"));
    setField(input, given ?? spec[tab][name].default);
  }
}

function query() {
  // only what differs from the defaults, so that links stay short
  const q = new URLSearchParams();
  for (const [name, input] of fields()) {
    const value = getField(input);
    const fallback = spec[tab][name].default;
    if (value === "" || value === fallback || String(value) === String(fallback)) continue;
    q.set(name, String(value));
  }
  return q;
}

function showTab(name) {
  tab = name;
  document.body.dataset.tab = name;
  for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("on", a.dataset.tab === name);
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.dataset.for !== name;
  $("#go").firstChild.textContent = { write: "写 ", reconstruct: "复原 ", interpolate: "插值 " }[name];
  $("#go small").textContent = name;
}

function renderPoem(p, extra = {}) {
  const card = el("article", { class: "poem", "data-poem": p.poem });
  const rhymes = new Set(p.rhyme_positions.map(([i, j]) => `${i},${j}`));
  p.lines.forEach((line, i) => {
    const row = el("div", { class: "line" });
    [...line].forEach((ch, j) => {
      const tone = p.tones[i][j];
      const cell = el("span", { class: `ch t-${tone}`, "data-tone": tone, title: tone }, el("span", { class: "glyph", text: ch }), el("i", { text: tone }));
      if (rhymes.has(`${i},${j}`)) cell.classList.add("rhyme");
      if (extra.kept && !extra.kept[i * line.length + j]) cell.classList.add("changed");
      row.append(cell);
    });
    row.append(el("span", { class: "punct", text: i % 2 ? "。" : "，" }));
    card.append(row);
  });
  const failed = Object.entries(p.rules).filter(([k, ok]) => ok === false && k !== "all").map(([k]) => RULES[k] || [k, k]);
  const meta = el("footer", { class: "meta" });
  if (extra.label) meta.append(el("span", { class: "label", text: extra.label }));
  const rhyme = p.rhyme_groups.length ? `${p.rhyme_book} ${p.rhyme_groups.join("/")}` : "不押韵";
  meta.append(el("span", { class: "rhyme-name", text: rhyme, title: p.rhyme_groups.length ? `rhyme by ${p.rhyme_book}` : `no shared rhyme in ${p.rhyme_book}` }));
  const verdict = p.rules.all
    ? el("span", { class: "ok", text: "合律", title: "follows the rules of regulated verse" })
    : el("span", { class: "off", text: `失 ${failed.map(([zh]) => zh).join(" ")}`, title: `breaks: ${failed.map(([, en]) => en).join("; ")}` });
  meta.append(verdict);
  card.append(meta);
  return card;
}

function render(data) {
  const out = $("#poems");
  out.replaceChildren();
  out.dataset.form = data.form;
  if (tab === "write") data.poems.forEach((p) => out.append(renderPoem(p)));
  if (tab === "interpolate") data.poems.forEach((p) => out.append(renderPoem(p, { label: `t = ${p.t.toFixed(2)}` })));
  if (tab === "reconstruct") {
    const share = `kept ${Math.round(100 * data.kept_share)} % (shaded: changed)`;
    out.append(renderPoem(data, { kept: data.kept, label: share }));
    if (data.read !== data.options.poem) out.append(el("p", { class: "note", text: `read in Simplified script: ${data.read}` }));
    if (data.unknown.length) out.append(el("p", { class: "note", text: `not in the vocabulary (read as <unk>): ${data.unknown.join("")}` }));
  }
}

async function run({ push = true } = {}) {
  const q = query();
  const status = $("#status");
  status.textContent = "…";
  status.className = "busy";
  try {
    const response = await fetch(`${API[tab]}?${q}`);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    render(data);
    // the server echoes the seed it used: the link writes these very poems again
    if (tab === "write" && !q.has("seed")) q.set("seed", data.options.seed);
    const link = `${PATH[tab]}${q.size ? "?" + q : ""}`;
    $("#share").href = link;
    $("#share").textContent = decodeURIComponent(link);
    if (push && link !== location.pathname + location.search) history.pushState(null, "", link);
    status.textContent = "";
    status.className = "";
  } catch (err) {
    status.textContent = err.message;
    status.className = "error";
  }
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

function ready() {
  bounds();
  // a link that names a missing form is still read; the API answers with its error
  for (const [name, info] of Object.entries(spec.forms)) {
    const radio = form.querySelector(`input[name=form][value=${name}]`);
    if (radio && !info.available) radio.parentElement.classList.add("missing");
    if (radio) radio.parentElement.title = info.available ? info.title : `${info.title}: no model on this server`;
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  for (const radio of form.querySelectorAll("input[name=form]")) radio.addEventListener("change", () => run());
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
  const needs = { write: [], reconstruct: ["poem"], interpolate: ["a", "b"] }[tab];
  if (needs.every((name) => params.get(name))) run({ push: false });
}

fetch("/api/options")
  .then((r) => r.json())
  .then((data) => { spec = data; ready(); })
  .catch((err) => { $("#status").textContent = `cannot reach the server: ${err.message}`; });
