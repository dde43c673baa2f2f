// mmbot dashboard: polls /status once a second and renders it; the button asks for the control
// token and POSTs /shutdown with it. No build step, no dependencies.
"use strict";

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

function render(s) {
  document.getElementById("mode").textContent = `— ${s.mode} — run ${s.run_id}`;
  const state = s.shutting_down ? "shutting down" : s.ready ? "ready" : "starting";
  document.getElementById("meta").textContent = `${state}; symbols ${s.symbols.join(", ")}; events ${s.recorder_file}` +
    (s.resources && s.resources.rss_bytes ? `; RSS ${(s.resources.rss_bytes / 1048576).toFixed(1)} MB` : "");
  fill("books", s.symbols.map((sym) => {
    const top = s.book_tops[sym] || ["", ""];
    return [cell(sym), cell(top[0]), cell(top[1]), cell(s.desired_quotes[sym])];
  }));
  const pnl = (s.pnl && s.pnl.symbols) || {};
  fill("pnl", Object.keys(pnl).map((sym) => {
    const p = pnl[sym];
    const total = Number(p.realised) + Number(p.unrealised) - Number(p.fees);
    return [cell(sym), cell(p.position), cell(p.realised), cell(Number(p.unrealised).toFixed(4)), cell(p.fees), cell(total.toFixed(4), total < 0 ? "bad" : "ok")];
  }));
  fill("conns", Object.entries(s.connections).map(([k, v]) => [cell(k), cell(v, v === "connected" ? "ok" : "bad")]));
  renderBudget(s.budget || { endpoints: {}, rejections: {} });
  document.getElementById("order-count").textContent = s.open_orders.length;
  const orders = [...s.open_orders].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.side.localeCompare(b.side) || a.level - b.level);
  fill("orders", orders.map((o) => [cell(o.link_id), cell(o.symbol), cell(o.side, o.side), cell(o.level), cell(o.price), cell(o.qty), cell(o.filled), cell(o.phase)]));
  if (s.shutdown) {
    const sd = s.shutdown;
    document.getElementById("shutdown-state").textContent = `${sd.shutdown_id}: ${sd.reason}` +
      (sd.finished ? ` — finished, exit code ${sd.exit_code}` : " — in progress");
    fill("steps", sd.steps.map((st) => [cell(st.step), cell(st.status, st.status === "ok" ? "ok" : "bad"), cell(st.elapsed_ms), cell(st.detail)]));
    document.getElementById("shutdown").disabled = true;
  }
}

// Each endpoint's share of its one-second budget in use, as a bar; what the governor held back
// and what the exchange refused, by code.
function usageBar(used, limit) {
  const td = document.createElement("td");
  const bar = document.createElement("span");
  const fillEl = document.createElement("span");
  const share = limit > 0 ? Math.min(1, used / limit) : 0;
  bar.className = share >= 1 ? "bar full" : "bar";
  fillEl.style.width = `${(share * 100).toFixed(0)}%`;
  bar.append(fillEl);
  td.append(bar, document.createTextNode(`${used}/${limit}`));
  return td;
}

function renderBudget(b) {
  const banned = b.ip_banned_ms > 0 ? ` — IP BANNED for ${(b.ip_banned_ms / 1000).toFixed(0)} s more` : "";
  document.getElementById("budget-ip").textContent = `(IP window: ${b.ip_limit - b.ip_remaining}/${b.ip_limit} per 5 s${banned})`;
  document.getElementById("budget-ip").className = banned ? "bad" : "";
  fill("budget", Object.entries(b.endpoints).map(([path, e]) => {
    const refused = Object.entries(b.rejections[path] || {}).map(([code, n]) => `${code}×${n}`).join(" ");
    return [cell(path), usageBar(e.limit - e.remaining, e.limit), cell(e.limit),
      cell(e.exchange_says === null ? "—" : e.exchange_says), cell(e.deferred), cell(refused, refused ? "bad" : "")];
  }));
}

async function poll() {
  try {
    const r = await fetch("/status", { cache: "no-store" });
    if (r.ok) render(await r.json());
  } catch (e) {
    document.getElementById("meta").textContent = "mmbot is not answering (stopped?)";
  }
}

document.getElementById("shutdown").addEventListener("click", async () => {
  const token = window.prompt("Control token (MMBOT_CONTROL_TOKEN, or data/control-token):");
  if (!token) return;
  const r = await fetch("/shutdown", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  const body = await r.json().catch(() => ({}));
  document.getElementById("shutdown-state").textContent = r.status === 202 ? `shutdown ${body.shutdown_id} ${body.status}` : `refused (${r.status}): ${body.error || ""}`;
  poll();
});

poll();
setInterval(poll, 1000);
