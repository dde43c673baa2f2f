// mmbot dashboard. The status arrives pushed over /events (Server-Sent Events; polling /status
// if that fails); the charts start from /history and grow with each update. Charts are small
// hand-made SVG: a line per series, triangles for fills — no library, nothing loaded from
// elsewhere. The button asks for the control token and POSTs /shutdown with it.
"use strict";

const KEEP = 900; // samples per symbol, as the server keeps (15 min at 1/s)
const history = {}; // symbol -> [{t, bid, ask, buys, sells, position, pnl}]
let last = null; // the last status seen
let finalSeen = false; // the server's last word arrived: keep it on screen after it goes

// ---- number formatting: prices to the tick, sizes to the step, money to the cent ----------
function decimalsOf(step) {
  const s = String(step || "");
  const frac = s.includes(".") ? s.split(".")[1].replace(/0+$/, "") : "";
  return frac.length;
}
// toFixed without "-0.00": a value that rounds to zero has no sign.
function fixed(v, digits) {
  const s = Number(v).toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}
function price(sym, v) {
  const inst = (last && last.instruments[sym]) || {};
  return v === undefined || v === null || v === "" ? "" : fixed(v, decimalsOf(inst.tick_size || "0.01"));
}
function qty(sym, v) {
  const inst = (last && last.instruments[sym]) || {};
  return v === undefined || v === null ? "" : fixed(v, decimalsOf(inst.qty_step || "0.001"));
}
function money(v) {
  const s = fixed(v || 0, 2);
  return s.startsWith("-") ? `−${s.slice(1)}` : s;
}
function duration(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

// ---- DOM helpers --------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => (k === "class" ? (e.className = v) : e.setAttribute(k, v)));
  e.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(c === undefined || c === null ? "" : String(c)))));
  return e;
}
function cell(text, cls) {
  return el("td", cls ? { class: cls } : {}, text);
}
function fill(tableId, rows, rowClass) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows.map((cells, i) => {
    const tr = el("tr", rowClass && rowClass[i] ? { class: rowClass[i] } : {});
    tr.append(...cells);
    return tr;
  }));
}
const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v));
  return e;
}

// ---- chart: lines over time, triangles for fills --------------------------------------------
function chart(svg, series, marks, label) {
  const W = 460, H = svg.getAttribute("height") | 0, L = 62, R = 6, T = 6, B = 14;
  const pts = series.flatMap((s) => s.pts).concat(marks.map((m) => [m.t, m.v]));
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", W);
  if (pts.length === 0) {
    svg.append(Object.assign(svgEl("text", { x: L, y: H / 2 }), { textContent: "waiting for data…" }));
    return;
  }
  let [t0, t1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [v0, v1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (t1 === t0) t1 = t0 + 1000;
  if (v1 === v0) { v0 -= 1; v1 += 1; }
  const pad = (v1 - v0) * 0.05; v0 -= pad; v1 += pad;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - v0) / (v1 - v0)) * (H - T - B);
  svg.append(svgEl("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }), svgEl("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  for (const [v, yy] of [[v1, T + 8], [v0, H - B]]) {
    svg.append(Object.assign(svgEl("text", { x: 2, y: yy }), { textContent: label(v) }));
  }
  svg.append(Object.assign(svgEl("text", { x: W - R - 40, y: H - 2 }), { textContent: duration(t1 - t0) }));
  for (const s of series) {
    if (s.pts.length === 0) continue;
    svg.append(svgEl("polyline", { class: s.cls, points: s.pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ") }));
  }
  for (const m of marks) {
    const [cx, cy] = [x(m.t), y(m.v)];
    const d = m.buy ? `M${cx},${cy - 5}L${cx - 4},${cy + 3}L${cx + 4},${cy + 3}Z` : `M${cx},${cy + 5}L${cx - 4},${cy - 3}L${cx + 4},${cy - 3}Z`;
    svg.append(svgEl("path", { d, class: m.buy ? "fillBuy" : "fillSell" }));
  }
}

function sampleFrom(s, sym, t) {
  const top = s.book_tops[sym];
  if (!top) return null;
  const mine = s.open_orders.filter((o) => o.symbol === sym);
  const p = (s.pnl.symbols || {})[sym];
  return {
    t, bid: top[0], ask: top[1],
    buys: mine.filter((o) => o.side === "Buy").map((o) => o.price).sort((a, b) => b - a),
    sells: mine.filter((o) => o.side === "Sell").map((o) => o.price).sort((a, b) => a - b),
    position: p ? p.position : "0",
    pnl: p ? symbolTotal(p) : 0,
  };
}

function levelSeries(samples, key, cls) {
  const n = Math.max(0, ...samples.map((s) => s[key].length));
  return Array.from({ length: n }, (_, i) => ({ cls, pts: samples.filter((s) => s[key][i] !== undefined).map((s) => [s.t, Number(s[key][i])]) }));
}

function renderSymbol(s, sym) {
  let box = document.getElementById(`sym-${sym}`);
  if (!box) {
    box = el("div", { class: "symbol", id: `sym-${sym}` }, el("h3", {}, sym), el("div", { class: "legend" }),
      svgEl("svg", { class: "chart price", height: 170 }), svgEl("svg", { class: "chart position", height: 70 }), svgEl("svg", { class: "chart pnl", height: 70 }));
    document.getElementById("symbols").append(box);
  }
  const samples = history[sym] || [];
  const cur = samples[samples.length - 1];
  const since = samples.length ? samples[0].t : 0;
  box.querySelector(".legend").textContent = cur
    ? `bid ${price(sym, cur.bid)} / ask ${price(sym, cur.ask)} — ${cur.buys.length}+${cur.sells.length} quotes — green/red lines: bid/ask; faint: the bot's levels; ▲▼ fills`
    : "no book yet";
  const fills = (s.fills || []).filter((f) => f.symbol === sym && f.t >= since).map((f) => ({ t: f.t, v: Number(f.price), buy: f.side === "Buy" }));
  chart(box.querySelector("svg.price"), [
    ...levelSeries(samples, "buys", "qbuy"), ...levelSeries(samples, "sells", "qsell"),
    { cls: "bid", pts: samples.map((x) => [x.t, Number(x.bid)]) },
    { cls: "ask", pts: samples.map((x) => [x.t, Number(x.ask)]) },
    { cls: "mid", pts: samples.map((x) => [x.t, (Number(x.bid) + Number(x.ask)) / 2]) },
  ], fills, (v) => price(sym, v));
  chart(box.querySelector("svg.position"), [{ cls: "position", pts: samples.map((x) => [x.t, Number(x.position)]) }], [], (v) => `pos ${qty(sym, v)}`);
  chart(box.querySelector("svg.pnl"), [{ cls: "pnl", pts: samples.map((x) => [x.t, Number(x.pnl)]) }], [], (v) => `PnL ${money(v)}`);
}

// ---- header: totals, limits, warnings -------------------------------------------------------
// A symbol's PnL as the bot counts it: realised + unrealised − fees − funding paid.
function symbolTotal(p) {
  return Number(p.realised) + Number(p.unrealised) - Number(p.fees) - Number(p.funding || 0);
}

function totals(s) {
  const syms = Object.values((s.pnl && s.pnl.symbols) || {});
  const total = syms.reduce((a, p) => a + symbolTotal(p), 0);
  const drawdown = Math.max(0, Number(s.pnl.peak || 0) - total);
  return { total, drawdown };
}

function budgetUse(b) {
  return Object.values(b.endpoints || {}).reduce((m, e) => Math.max(m, e.limit > 0 ? (e.limit - e.remaining) / e.limit : 0), 0);
}

function warnings(s, t) {
  const w = [];
  if (s.shutdown) w.push(s.shutdown.finished || s.shutdown.last_from_server ? "the bot has stopped" : "shutdown in progress");
  for (const [k, v] of Object.entries(s.connections)) if (v !== "connected") w.push(`${k} stream ${v}`);
  const limit = Number(s.limits.max_drawdown);
  if (limit > 0 && t.drawdown >= limit * 0.5) w.push(`drawdown ${money(t.drawdown)} is ${Math.round((t.drawdown / limit) * 100)} % of the kill-switch limit ${money(limit)}`);
  const b = s.budget || {};
  if (b.ip_banned_ms > 0) w.push(`IP banned by the exchange for ${Math.round(b.ip_banned_ms / 1000)} s more`);
  for (const [path, e] of Object.entries(b.endpoints || {})) if (e.limit > 0 && e.remaining === 0) w.push(`${path}: request budget spent this second`);
  for (const [sym, p] of Object.entries((s.pnl && s.pnl.symbols) || {})) {
    const top = s.book_tops[sym];
    const notional = top ? Math.abs(Number(p.position)) * (Number(top[0]) + Number(top[1])) / 2 : 0;
    const cap = Number(s.limits.max_position_notional);
    if (cap > 0 && notional >= cap * 0.8) w.push(`${sym} position ${money(notional)} USDT is near its limit ${money(cap)}`);
  }
  for (const [sym, why] of Object.entries(s.halted || {})) w.push(`${sym} quoting halted: the exchange refuses its orders (${why}); probing until one is accepted`);
  for (const r of s.account || []) if (r.verdict !== "ok") w.push(`account check ${r.check}: ${r.detail}`);
  if (s.ready === false && !s.shutdown) w.push(`not ready: ${s.not_ready || "starting"}`);
  if (s.ha && s.ha.role !== "active") w.push(`high availability: ${haLine(s.ha)}`);
  return w;
}

function card(label, value, cls, extra) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: `value ${cls || ""}` }, value), extra || "");
}

function usageBar(share) {
  const bar = el("span", { class: share >= 1 ? "bar full" : "bar" }, el("span", { style: `width:${(Math.min(1, share) * 100).toFixed(0)}%` }));
  return bar;
}

// The lease's role, since when, and who holds the key (the header's tooltip and the warnings).
function haLine(h) {
  const since = duration(Date.now() - h.since_ms);
  const holder = h.holder ? (() => { try { const v = JSON.parse(h.holder); return `${v.run_id} on ${v.host || "?"} (${v.control})`; } catch (_) { return h.holder; } })() : "nobody";
  const left = h.give_up_in_ms === null || h.give_up_in_ms === undefined ? "" : ` · gives up in ${h.give_up_in_ms} ms unless renewed`;
  return `${h.role} for ${since} · key ${h.key} held by ${holder} · etcd ${h.etcd}${left}`;
}

function renderHeader(s) {
  const t = totals(s);
  const state = s.shutdown ? (s.shutdown.finished || finalSeen ? "stopped" : "shutting down") : s.ready ? "ready" : `not ready (${s.not_ready || "starting"})`;
  document.getElementById("mode").textContent = `— ${s.mode}` + (s.ha ? ` · ${s.ha.role}` : "");
  if (s.ha) document.getElementById("mode").title = haLine(s.ha);
  document.getElementById("meta").textContent = `run ${s.run_id} · ${state} · up ${duration(Date.now() - s.started_ms)} · symbols ${s.symbols.join(", ")}` +
    (s.resources && s.resources.rss_bytes ? ` · RSS ${(s.resources.rss_bytes / 1048576).toFixed(1)} MB` : "");
  const limit = Number(s.limits.max_drawdown);
  const equity = s.starting_equity === null || s.starting_equity === undefined ? "—" : money(Number(s.starting_equity) + t.total);
  const use = budgetUse(s.budget || {});
  document.getElementById("cards").replaceChildren(
    card("total PnL (USDT)", money(t.total), t.total < 0 ? "neg" : "pos"),
    card("equity (USDT)", equity),
    card(`drawdown / limit ${limit > 0 ? money(limit) : "off"}`, money(t.drawdown), limit > 0 && t.drawdown >= limit * 0.5 ? "neg" : "", limit > 0 ? usageBar(t.drawdown / limit) : ""),
    card("budget use (busiest endpoint)", `${Math.round(use * 100)} %`, use >= 1 ? "neg" : "", usageBar(use)),
    card("open orders", String(s.open_orders.length)),
  );
  document.getElementById("warnings").replaceChildren(...warnings(s, t).map((w) => el("li", {}, w)));
}

// ---- tables ---------------------------------------------------------------------------------
function renderTables(s) {
  const pnl = (s.pnl && s.pnl.symbols) || {};
  fill("pnl", Object.keys(pnl).map((sym) => {
    const p = pnl[sym];
    const total = symbolTotal(p);
    const inherited = Number(p.inherited || 0) !== 0 ? ` (inherited ${qty(sym, p.inherited)})` : "";
    return [cell(sym), cell(qty(sym, p.position) + inherited), cell(money(p.realised)), cell(money(p.unrealised)), cell(money(p.fees)), cell(money(p.funding || 0)), cell(money(total), total < 0 ? "neg" : "pos")];
  }));
  fill("account", (s.account || []).map((r) => [cell(r.verdict, r.verdict === "ok" ? "ok" : "bad"), cell(r.check), cell(r.detail)]));
  fill("conns", Object.entries(s.connections).map(([k, v]) => [cell(k), cell(v, v === "connected" ? "ok" : "bad")]));
  renderBudget(s.budget || { endpoints: {}, rejections: {} });
  document.getElementById("order-count").textContent = s.open_orders.length;
  const orders = [...s.open_orders].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.side.localeCompare(b.side) || a.level - b.level);
  fill("orders", orders.map((o) => [cell(o.link_id), cell(o.symbol), cell(o.side, o.side), cell(o.level), cell(price(o.symbol, o.price)), cell(qty(o.symbol, o.qty)), cell(qty(o.symbol, o.filled)), cell(o.phase, o.phase === "Live" ? "" : "bad")]));
  const p = s.previous_shutdown;
  if (p) document.getElementById("previous").textContent = `${p.shutdown_id} (${p.reason}): ${p.total_ms} ms, exit code ${p.exit_code}, ${p.cancelled_orders} orders cancelled`;
}

function renderBudget(b) {
  const banned = b.ip_banned_ms > 0 ? ` — IP BANNED for ${(b.ip_banned_ms / 1000).toFixed(0)} s more` : "";
  document.getElementById("budget-ip").textContent = `(IP window: ${b.ip_limit - b.ip_remaining}/${b.ip_limit} per 5 s${banned})`;
  document.getElementById("budget-ip").className = banned ? "bad" : "";
  fill("budget", Object.entries(b.endpoints).map(([path, e]) => {
    const refused = Object.entries(b.rejections[path] || {}).map(([code, n]) => `${code}×${n}`).join(" ");
    const use = el("td", {}, usageBar(e.limit > 0 ? (e.limit - e.remaining) / e.limit : 0), `${e.limit - e.remaining}/${e.limit}`);
    return [cell(path), use, cell(e.limit), cell(e.exchange_says === null ? "—" : e.exchange_says), cell(e.deferred), cell(refused, refused ? "bad" : "")];
  }));
}

// ---- shutdown: on top while it runs; each step as it starts --------------------------------
const MEANING = { 0: "clean", 1: "could not start", 3: "a later step failed", 4: "orders may remain", 5: "forced" };

function renderShutdown(sd) {
  const panel = document.getElementById("shutdown-panel");
  panel.style.display = "block";
  document.body.prepend(panel);
  const done = sd.finished || sd.last_from_server;
  panel.className = done && sd.exit_code === 0 ? "done" : "";
  const verdict = sd.finished
    ? `finished in ${sd.elapsed_ms} ms — exit code ${sd.exit_code} (${MEANING[sd.exit_code] || "?"})`
    : sd.last_from_server
      ? `web server stopping: final report — exit code ${sd.exit_code} (${MEANING[sd.exit_code] || "?"}) unless the last steps fail`
      : `in progress: ${sd.elapsed_ms} ms of the ${sd.deadline_ms} ms deadline`;
  document.getElementById("shutdown-title").textContent = `Shutdown ${sd.shutdown_id} — ${sd.reason}`;
  document.getElementById("shutdown-state").textContent = verdict;
  const rows = sd.steps.map((st) => [cell(st.step), cell(st.status, st.status === "ok" ? "ok" : "bad"), cell(st.elapsed_ms), cell(st.timeout_ms), cell(st.detail)]);
  const classes = sd.steps.map(() => "");
  if (sd.running) {
    rows.push([cell(sd.running.step), cell("running…"), cell(""), cell(sd.running.timeout_ms), cell(`started at ${sd.running.started_ms} ms`)]);
    classes.push("running");
  }
  for (const name of sd.upcoming || []) {
    rows.push([cell(name), cell("pending"), cell(""), cell(""), cell("")]);
    classes.push("upcoming");
  }
  fill("steps", rows, classes);
  const o = sd.orders;
  document.getElementById("shutdown-orders").textContent = o
    ? `orders: ${o.cancelled} cancelled, ${o.verified_flat ? "0 open verified on the exchange" : `${o.remaining === null ? "unknown number" : o.remaining} may remain`}` +
      (o.symbols || []).map((x) => ` · ${x.symbol} ${x.flat ? "flat" : "NOT flat"} by ${x.path || "—"}`).join("")
    : "";
  document.getElementById("shutdown").disabled = true;
}

// ---- the feed ---------------------------------------------------------------------------------
function render(s) {
  last = s;
  const now = Date.now();
  for (const sym of s.symbols) {
    const h = (history[sym] = history[sym] || []);
    if (!h.length || now - h[h.length - 1].t >= 1000) {
      const x = sampleFrom(s, sym, now);
      if (x) h.push(x);
      if (h.length > KEEP) h.shift();
    }
  }
  renderHeader(s);
  if (s.shutdown) {
    renderShutdown(s.shutdown);
    if (s.shutdown.finished || s.shutdown.last_from_server) finalSeen = true;
  }
  s.symbols.forEach((sym) => renderSymbol(s, sym));
  renderTables(s);
}

function serverGone() {
  document.getElementById("meta").textContent = finalSeen
    ? "mmbot has stopped; the report above is the last word its web server sent"
    : "mmbot is not answering (stopped?)";
}

// Set when the control port asked for the token (login.js): every request carries it.
const controlToken = sessionStorage.getItem("mmbot-control-token");
function authHeaders() {
  return controlToken ? { Authorization: `Bearer ${controlToken}` } : {};
}

async function poll() {
  try {
    const r = await fetch("/status", { cache: "no-store", headers: authHeaders() });
    if (r.ok) render(await r.json());
  } catch (e) {
    serverGone();
  }
}

async function start() {
  try {
    const r = await fetch("/history", { cache: "no-store", headers: authHeaders() });
    if (r.ok) Object.assign(history, (await r.json()).symbols);
  } catch (e) { /* the charts start empty */ }
  // EventSource cannot send a header: with a token the stream is read through fetch.
  if (controlToken) return streamWithToken();
  if (!window.EventSource) {
    setInterval(poll, 1000);
    return poll();
  }
  const es = new EventSource("/events");
  let fallback = null;
  es.addEventListener("status", (ev) => render(JSON.parse(ev.data)));
  es.onerror = () => {
    if (finalSeen) {
      es.close();
      serverGone();
    } else if (!fallback && es.readyState === EventSource.CLOSED) {
      fallback = setInterval(poll, 1000);
    }
  };
}

// /events as Server-Sent Events over fetch, so the bearer header goes with it.
async function streamWithToken() {
  try {
    const r = await fetch("/events", { headers: authHeaders(), cache: "no-store" });
    if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) render(JSON.parse(data));
      }
    }
    if (finalSeen) return serverGone();
  } catch (e) {
    if (finalSeen) return serverGone();
  }
  setInterval(poll, 1000);
}

document.getElementById("shutdown").addEventListener("click", async () => {
  const token = controlToken || window.prompt("Control token (MMBOT_CONTROL_TOKEN, or data/control-token):");
  if (!token) return;
  const r = await fetch("/shutdown", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  const body = await r.json().catch(() => ({}));
  const msg = r.status === 202 ? `shutdown ${body.shutdown_id} ${body.status}` : `refused (${r.status}): ${body.error || ""}`;
  document.getElementById("shutdown-state").textContent = msg;
  if (r.status !== 202) {
    const panel = document.getElementById("shutdown-panel");
    panel.style.display = "block";
  }
});

start();
