// hashgate dashboard: polls the JSON API and draws it. No framework, no
// build step, no external asset; every value goes in through textContent.
"use strict";

const PAGE = 50; // workers per page
// POLL is the status's polling period in ms (#poll=500 in the address for a faster one).
const POLL = Math.max(200, +new URLSearchParams(location.hash.slice(1)).get("poll") || 5000);
const $ = (id) => document.getElementById(id);
const state = { sort: "name", order: "asc", offset: 0, total: 0, history: [], historyEvery: 10, live: null };

// el builds an element: el("td", {class: "n"}, "text", child, …).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : String(k ?? ""));
  return e;
}

const kw = (v) => (v ?? 0).toFixed(1) + " kW";
const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s", "ZH/s"];
// hashrate prints a rate given in TH/s with automatic units, as the API's FormatHashrate.
function hashrate(ths) {
  let hs = (ths || 0) * 1e12, i = 0;
  if (!(hs > 0) || !isFinite(hs)) return "0 H/s";
  while (i < units.length - 1 && hs >= 999.5) { hs /= 1000; i++; }
  const s = hs >= 99.95 ? hs.toFixed(0) : hs >= 9.995 ? hs.toFixed(1) : hs >= 0.9995 ? hs.toFixed(2) : String(+hs.toPrecision(2));
  return s + " " + units[i];
}
const when = (t) => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");
const hhmm = (t) => new Date(t).toISOString().slice(11, 16);

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(url + ": " + (body.error || r.status)), { status: r.status });
  return { body, headers: r.headers };
}

// power gets a power endpoint: null when no switcher runs (503), its panel hidden.
async function power(url, panel) {
  try {
    const res = await getJSON(url);
    $(panel).hidden = false;
    return res;
  } catch (e) {
    if (e.status !== 503) throw e;
    $(panel).hidden = true;
    return null;
  }
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// td with a label for the phone layout (table.cards).
const cell = (label, v, cls) => el("td", { "data-label": label, class: cls }, v);

function tile(label, value, id, bad) {
  return el("div", { class: "tile" + (bad ? " bad" : ""), id }, el("div", { class: "v" }, value), el("div", { class: "l" }, label));
}

// ---- status: power first, then the proxy ----

// countedWhy says what each way of counting a rig in the load means.
const countedWhy = {
  offline: "not connected: 0 kW",
  mining: "rig_kw (or its measured draw)",
  parked_bound: "idle_kw: the group is pools_bound",
  parked_verified: "idle_kw (or its measured draw): a device readback shows it asleep",
  parked_unverified: "rig_kw: held without work, but nothing shows it is not hashing on another pool",
  left_while_parked: "rig_kw: parked, left, not back",
  released: "0 kW: away longer than release_vanished_after",
  curtail_failed: "rig_kw: parked, but it kept submitting shares or its device did not confirm the sleep",
  device_hashing: "its measured draw (else rig_kw): its device hashes though it is curtailed; the next rig is curtailed for it",
  resume_failed: "its measured draw (else idle_kw): resumed, its device did not wake",
};

function renderBanners(p) {
  const out = [];
  const add = (cls, text, id) => out.push(el("p", { class: "banner " + cls, id }, text));
  if (p) {
    if (p.failsafe) add("bad", "Fail-safe: the mining budget is the policy's safe budget. " + (p.failsafe_reason || ""), "failsafe");
    if (!p.compliant) {
      const why = p.not_compliant_reason || "the mining load is above the budget";
      add("bad", /^not compliant/i.test(why) ? "N" + why.slice(1) : "Not compliant: " + why, "not-compliant");
      if (p.not_compliant_detail) add("bad", p.not_compliant_detail, "not-compliant-detail");
    }
    if (p.policy_error) add("bad", "The policy file is refused:\n" + p.policy_error + "\nIn force: the policy loaded before, from " + p.policy + ".", "policy-error");
    if (p.state_error) add("bad", "Decisions are in force but not saved: " + p.state_error + ". A restart now would lose them; hashgate retries.", "state-error");
    if (p.audit_error) add("bad", "The audit log file is not written: " + p.audit_error + ". Events are kept in memory and written when it can be.", "audit-error");
    if (p.emergency) add("warn", "Emergency allocation: resumes are held.", "emergency");
  }
  $("banners").replaceChildren(...out);
}

function renderPower(st) {
  const p = st.power;
  $("no-switcher").hidden = !!p;
  renderBanners(p);
  if (!p) {
    $("tiles").replaceChildren(tile("parked", st.parked, "parked"), tile("pending", st.pending, "pending"));
    return;
  }
  const tiles = [
    tile("mining load", kw(p.mining_load_kw), "load", !p.compliant),
    tile("mining budget", kw(p.mining_budget_kw), "budget"),
  ];
  if (Math.abs(p.mining_load_planned_kw - p.mining_load_kw) >= 0.05) tiles.push(tile("load as planned (parks at idle_kw)", kw(p.mining_load_planned_kw), "planned"));
  if (p.cap_kw) tiles.push(tile("site cap", kw(p.cap_kw), "cap"));
  tiles.push(
    tile("compliant", p.compliant ? "yes" : "NO", "compliant", !p.compliant),
    tile("AI", kw(p.ai_kw), "ai"),
    tile("capacity − reserve", kw(p.capacity_kw - p.reserve_kw), "capacity"),
    tile("parked rigs", st.parked, "parked"),
    tile("pending admission", st.pending, "pending"),
    tile("plan done in", Math.round(p.eta_seconds) + " s", "eta"),
  );
  if (p.measured_rigs) tiles.push(tile("measured by devices (" + p.measured_rigs + " rigs)", kw(p.mining_load_measured_kw), "measured"));
  $("tiles").replaceChildren(...tiles);
  const a = p.allocation;
  $("allocation").textContent = a
    ? `Allocation in force: ${kw(a.ai_kw)} to AI, by ${a.who} at ${when(a.at)}${a.until ? ", until " + when(a.until) : ""}${a.emergency ? ", emergency" : ""}: ${a.reason}`
    : "No allocation in force: AI gets 0 kW.";
  renderCap(p);
  const b = p.load_breakdown || {};
  const parts = [["mining", b.mining_kw], ["pinned on", b.pinned_on_kw], ["parked at idle draw", b.parked_idle_kw],
    ["parked, unverified", b.parked_unverified_kw], ["left while parked", b.left_while_parked_kw],
    ["device hashing", b.device_hashing_kw], ["resume failed", b.resume_failed_kw]];
  fill($("load-breakdown").tBodies[0], parts.filter(([, v], i) => i < 5 || v).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "n" }, kw(v)))));
  const counted = Object.entries(p.counted || {}).filter(([, l]) => l.rigs > 0);
  fill($("counted").tBodies[0], counted.map(([as, l]) => el("tr", {}, el("td", {}, as), el("td", { class: "n" }, l.rigs + " rigs"), el("td", { class: "n" }, kw(l.kw)), el("td", { class: "muted" }, countedWhy[as] || ""))));
}

// renderCap says where the budget comes from in cap mode (the cap, who
// set it, the measured non-mining and site load, the rule that binds) and
// lists the meters with their last readings.
function renderCap(p) {
  const line = $("cap-mode");
  line.hidden = !p.cap_kw;
  if (p.cap_kw) {
    const c = p.cap;
    const parts = [`Cap mode: site cap ${kw(p.cap_kw)}` + (c ? ` set by ${c.who} (${c.reason})${c.until ? " until " + when(c.until) : ""}` : " (policy)")];
    parts.push(p.ai_kw_measured == null ? "non-mining load not measured" : `non-mining load measured ${kw(p.ai_kw_measured)}`);
    if (p.site_load_kw != null) parts.push(`site load ${kw(p.site_load_kw)}`);
    parts.push(`the budget follows the ${p.budget_rule || "allocation"} rule`);
    line.textContent = parts.join(" · ");
  }
  const ms = p.meters || [];
  $("meters").hidden = ms.length === 0;
  fill($("meters").tBodies[0], ms.map((m) => el("tr", { class: m.stale ? "bad" : "" },
    el("td", {}, m.name), el("td", {}, m.measures),
    el("td", { class: "n" }, m.kw == null ? "—" : kw(m.kw)),
    el("td", { class: "muted" }, m.stale ? "STALE" + (m.error ? ": " + m.error : "") : m.at ? when(m.at) : ""))));
}

function renderProxy(st) {
  const h = $("health");
  h.textContent = st.healthy ? "upstream healthy" : "no live pool";
  h.className = "badge " + (st.healthy ? "ok" : "bad");
  $("updated").textContent = when(st.time) + " · v" + st.version;
  const sh = st.shares;
  $("proxy-line").textContent = `${st.miners_connected} miners connected · ${hashrate(st.hashrate_ths)} · shares ${sh.accepted} accepted, ${sh.rejected} rejected (${sh.stale} stale)`;
  fill($("pools").tBodies[0], st.pools.map((p) => el("tr", {},
    cell("pool", p.name),
    cell("state", el("span", { class: p.state === "active" ? "ok" : p.state === "failed" ? "bad" : "" }, p.state + (p.rejecting ? " · rejecting shares" : ""))),
    cell("sessions", p.sessions, "n"), cell("miners", p.miners, "n"),
    cell("url", el("code", {}, p.url)), cell("last error", p.last_error || "—"))));
}

async function pollStatus() {
  const { body: st } = await getJSON("/api/v1/status");
  renderPower(st);
  renderProxy(st);
  if (st.power) {
    state.live = { t: st.time, load_kw: st.power.mining_load_kw, budget_kw: st.power.mining_budget_kw, cap_kw: st.power.cap_kw || 0 };
    drawChart();
  }
}

// ---- groups ----

// parkedBar is a small bar of the share of a group's rigs parked (its
// width set through the CSSOM: the CSP refuses style attributes).
function parkedBar(share) {
  const fillBar = el("i");
  fillBar.style.width = share + "%";
  return el("span", { class: "bar", title: share + "% parked" }, fillBar);
}

async function pollGroups() {
  const res = await power("/api/v1/groups", "groups-panel");
  if (!res) return;
  const gs = res.body;
  fill($("groups").tBodies[0], gs.map((g) => {
    const rigs = g.rigs.mining + g.rigs.parked + g.rigs.pending + g.rigs.offline;
    const share = rigs ? Math.round((100 * g.rigs.parked) / rigs) : 0;
    const flags = [g.pinned ? g.pinned + " pinned" : "", g.flagged ? g.flagged + " flagged" : ""].filter(Boolean).join(", ") || "—";
    return el("tr", { "data-group": g.name },
      cell("group", g.name + (g.priority ? ` (priority ${g.priority})` : "")),
      cell("mining", g.rigs.mining, "n"),
      cell("parked", el("span", {}, String(g.rigs.parked), parkedBar(share)), "n parked"),
      cell("pending", g.rigs.pending, "n"), cell("offline", g.rigs.offline, "n"),
      cell("load", kw(g.counted_kw), "n"), cell("hashrate", hashrate(g.hashrate_ths), "n"), cell("flags", flags));
  }));
  const sel = $("f-group");
  const have = [...sel.options].map((o) => o.value);
  for (const g of gs) if (!have.includes(g.name)) sel.append(el("option", {}, g.name));
}

// ---- workers: paged, sorted and filtered by the server ----

function workersURL() {
  const q = new URLSearchParams({ limit: PAGE, offset: state.offset, sort: state.sort, order: state.order });
  for (const [k, id] of [["q", "q"], ["group", "f-group"], ["state", "f-state"], ["flag", "f-flag"]]) {
    const v = $(id).value.trim();
    if (v) q.set(k, v);
  }
  return "/api/v1/workers?" + q;
}

async function pollWorkers() {
  const { body: ws, headers } = await getJSON(workersURL());
  state.total = +headers.get("X-Total-Count");
  if (state.offset >= state.total && state.offset > 0) { // the list shrank under the page
    state.offset = Math.max(0, Math.floor((state.total - 1) / PAGE) * PAGE);
    return pollWorkers();
  }
  fill($("workers").tBodies[0], ws.map((w) => el("tr", {},
    el("td", { class: "mono" }, w.name), el("td", {}, w.group || "—"),
    el("td", { class: w.state === "curtailed" ? "warn" : w.state === "offline" ? "muted" : "" }, w.state + (w.power_state && w.power_state !== w.state && w.state === "curtailed" ? ` (${w.power_state})` : "")),
    el("td", { class: "n" }, hashrate(w.hashrate_ths)), el("td", { class: "n" }, kw(w.counted_kw)),
    el("td", {}, when(w.last_share)),
    el("td", {}, ...w.flags.map((f) => el("span", { class: "flag " + f }, f))))));
  const last = Math.min(state.offset + ws.length, state.total);
  $("page-info").textContent = state.total ? `${state.offset + 1}–${last} of ${state.total}` : "no worker matches";
  $("workers-count").textContent = `(${state.total} matching)`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.total;
  for (const th of document.querySelectorAll("#workers th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === state.sort ? (state.order === "asc" ? "ascending" : "descending") : "none");
  }
}

function setupWorkers() {
  let timer;
  const again = () => { state.offset = 0; run(pollWorkers); };
  $("q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(again, 250); });
  for (const id of ["f-group", "f-state", "f-flag"]) $(id).addEventListener("change", again);
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); again(); });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); run(pollWorkers); });
  $("next").addEventListener("click", () => { state.offset += PAGE; run(pollWorkers); });
  for (const th of document.querySelectorAll("#workers th[data-sort]")) {
    th.tabIndex = 0; // sortable from the keyboard too
    th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); th.click(); } });
    th.addEventListener("click", () => {
      const k = th.dataset.sort;
      state.order = state.sort === k && state.order === "asc" ? "desc" : "asc";
      state.sort = k;
      again();
    });
  }
}

// ---- site view: load vs budget vs cap from the binary's history ring ----

async function pollHistory() {
  const last = state.history.at(-1);
  const res = await power("/api/v1/history" + (last ? "?since=" + encodeURIComponent(last.t) : ""), "site");
  if (!res) return;
  const body = res.body;
  state.historyEvery = body.every_seconds;
  state.history.push(...body.points);
  if (state.history.length > body.capacity) state.history.splice(0, state.history.length - body.capacity);
  drawChart();
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function drawChart() {
  const pts = state.history.slice();
  if (state.live && (!pts.length || state.live.t > pts.at(-1).t)) pts.push(state.live);
  const box = $("chart");
  if (pts.length < 1) { box.textContent = "No history yet."; return; }
  // Drawn at the box's own width, so its labels stay readable on a phone.
  const W = Math.max(300, Math.round(box.clientWidth) || 800), H = W < 600 ? 180 : 220, L = 48, R = 8, T = 8, B = 22;
  const t0 = Date.parse(pts[0].t), t1 = Math.max(Date.parse(pts.at(-1).t), t0 + 1000);
  const top = Math.max(1, ...pts.map((p) => Math.max(p.load_kw, p.budget_kw, p.cap_kw || 0))) * 1.1;
  const x = (t) => L + ((Date.parse(t) - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "mining load, budget and cap over time" });
  for (let i = 0; i <= 4; i++) {
    const v = (top / 1.1) * (i / 4);
    s.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const lab = svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" });
    lab.textContent = v >= 1000 ? (v / 1000).toFixed(1) + " MW" : v.toFixed(0) + " kW";
    s.append(lab);
  }
  for (const [t, anchor] of [[pts[0].t, "start"], [pts.at(-1).t, "end"]]) {
    const lab = svg("text", { x: x(t), y: H - 6, "text-anchor": anchor });
    lab.textContent = (t1 - t0 < 600000 ? new Date(t).toISOString().slice(11, 19) : hhmm(t)) + "Z";
    s.append(lab);
  }
  // Budget and cap hold until changed: drawn as steps; the load as measured.
  const step = (key) => pts.filter((p) => key !== "cap_kw" || p.cap_kw > 0)
    .map((p, i, a) => (i ? `${x(p.t)},${y(a[i - 1][key])} ` : "") + `${x(p.t)},${y(p[key])}`).join(" ");
  const line = (key) => pts.map((p) => `${x(p.t)},${y(p[key])}`).join(" ");
  s.append(svg("polyline", { class: "budget", points: step("budget_kw") }));
  const capped = pts.some((p) => p.cap_kw > 0);
  if (capped) s.append(svg("polyline", { class: "cap", points: step("cap_kw") }));
  $("legend-cap").hidden = !capped;
  s.append(svg("polyline", { class: "load", points: line("load_kw") }));
  box.replaceChildren(s);
  const span = (t1 - t0) / 60000;
  const last = span >= 90 ? (span / 60).toFixed(1) + " h" : span >= 1 ? Math.round(span) + " min" : Math.round(span * 60) + " s";
  $("history-span").textContent = `(last ${last}, a point every ${state.historyEvery} s)`;
}

// ---- events: the decisions, each with the rigs it acted on ----

// groupCounts prints a summary's counts per group: a plan's actions
// ({curtail, resume, park, deferred}) or a mass event's rigs (a number).
function groupCounts(groups) {
  return Object.entries(groups || {}).map(([g, c]) => `${g}: ` + (typeof c === "number" ? `${c} rigs`
    : ["curtail", "resume", "park", "deferred"].filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(", ") || "no action")).join(" · ");
}

function eventLine(e) {
  const f = e.fields || {};
  const bits = [when(e.time), e.kind];
  if (e.who) bits.push("by " + e.who);
  if (f.ai_kw !== undefined && e.kind === "allocation") bits.push(kw(f.ai_kw) + " to AI");
  if (e.rig) bits.push(e.rig);
  if (f.rigs !== undefined && !e.rig) bits.push(f.rigs + " rigs");
  if (e.reason) bits.push("“" + e.reason + "”");
  return bits.join(" · ");
}

async function pollEvents() {
  const kinds = document.body.dataset.summaryKinds;
  const res = await power("/api/v1/events?limit=30&kind=" + kinds, "events-panel");
  if (!res) return;
  // The decisions, and the newest events that belong to none (a rig's own).
  const own = (await getJSON("/api/v1/events?limit=300")).body.filter((e) => !e.cause);
  const bySeq = new Map([...res.body, ...own].map((e) => [e.seq, e]));
  const evs = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-30);
  const open = new Set([...document.querySelectorAll("#events details[open]")].map((d) => d.dataset.seq));
  $("events").replaceChildren(...evs.reverse().map((e) => {
    const counts = groupCounts((e.fields || {}).groups);
    const d = el("details", { class: "event " + e.kind, "data-seq": e.seq },
      el("summary", {}, eventLine(e), counts ? el("div", { class: "groups muted" }, counts) : ""),
      el("ul", {}));
    d.addEventListener("toggle", () => d.open && loadCaused(d, e.seq));
    if (open.has(String(e.seq))) { d.open = true; }
    return d;
  }));
}

async function loadCaused(d, seq) {
  const { body: evs, headers } = await getJSON(`/api/v1/events?cause=${seq}&limit=100`);
  const ul = d.querySelector("ul");
  const items = evs.map((e) => el("li", {}, `${e.kind} ${e.rig || ""} ${e.reason ? "— " + e.reason : ""}`));
  if (!items.length) items.push(el("li", { class: "muted" }, "no per-rig event"));
  if (evs.length === 100) items.push(el("li", { class: "muted" }, "first 100 shown: /api/v1/events?cause=" + seq + " lists them all"));
  ul.replaceChildren(...items);
}

// ---- polling ----

async function run(fn) {
  try {
    await fn();
    $("error").hidden = true;
  } catch (e) {
    $("error").textContent = "Cannot reach hashgate: " + e.message;
    $("error").hidden = false;
  }
}

function every(ms, fn) {
  const tick = async () => { await run(fn); setTimeout(tick, ms); };
  return tick();
}

async function main() {
  setupWorkers();
  await Promise.all([every(POLL, pollStatus), every(2 * POLL, pollGroups), every(2 * POLL, pollWorkers),
    every(2 * POLL, pollEvents), every(6 * POLL, pollHistory)]);
  document.body.dataset.ready = "1"; // the first answers are drawn (browser tests wait for it)
}
main();
