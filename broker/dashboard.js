// The dashboard's script (served as /dashboard.js: the page's
// Content-Security-Policy runs no inline script). Every string the broker
// reports -- host names and versions come from workers -- goes into the page
// with textContent or as an attribute value, never as HTML.
"use strict";
const DOMAINS = ["prevention", "rehabilitation", "social"];
const PRIORITIES = ["stat", "asap", "urgent", "routine"]; // the order of a history point's ready array
const COLORS = {stat: "#c4320a", asap: "#dc6803", urgent: "#2f6fde", routine: "#7a8799"};
let points = [];        // history points, oldest first, from /api/v1/history
let brokerNow = null;   // the broker's clock (ms) at its last answer
let lastWorkers = {};   // per worker: counters at the previous poll, for the recent batch size

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function card(d, fa) {
  const c = el("div", {class: "card", id: "card-" + d});
  const h = el("header");
  const title = el("h2", {}, d + " ");
  title.appendChild(el("span", {class: "fa"}, fa));
  h.appendChild(title);
  h.appendChild(el("span", {"data-field": "workers", class: "muted"}, "–"));
  c.appendChild(h);
  const w = el("div", {class: "waiting"});
  const cell = (label, field, cls) => {
    const box = el("div", cls ? {class: cls} : {});
    box.appendChild(el("div", {class: "label"}, label));
    box.appendChild(el("div", {class: "num", "data-field": field}, "0"));
    w.appendChild(box);
    return box;
  };
  cell("stat", "stat", "stat-box");
  cell("asap", "asap"); cell("urgent", "urgent"); cell("routine", "routine");
  cell("waiting", "ready"); cell("oldest (s)", "oldest");
  c.appendChild(w);
  for (const [name, label] of [["waiting", "waiting by priority"], ["rates", "submitted / acknowledged per second"],
                               ["latency", "ack latency p50 / p99 (ms)"]]) {
    c.appendChild(el("div", {class: "legend"}, label));
    c.appendChild(el("canvas", {"data-chart": name, "data-points": "0"}));
  }
  document.getElementById("domains").appendChild(c);
  return c;
}

function rangeMs() { return Number(document.getElementById("range").value) * 1000; }

// Draws series (arrays of {t, v}, v null = gap) on a time axis ending at the
// broker's now; returns how many points were drawn.
function chart(canvas, series, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr)), h = Math.round(96 * dpr);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  // The axis spans the chosen range, or only the history there is (a broker
  // up for two minutes shows two minutes across the whole width).
  const end = brokerNow || Date.now();
  const first = points.length ? points[0].t_ms - points[0].span_ms : end;
  const start = Math.max(end - rangeMs(), Math.min(first, end - 60000));
  let peak = 0, drawn = 0;
  for (const s of series) for (const p of s.data) if (p.v !== null && p.t >= start) peak = Math.max(peak, p.v);
  const max = peak > 0 ? peak * 1.1 : 1; // headroom above the highest point
  const x = t => ((t - start) / (end - start)) * w, y = v => h - 2 * dpr - (v / max) * (h - 16 * dpr);
  ctx.strokeStyle = "#e3e8ee"; ctx.lineWidth = dpr; ctx.beginPath(); ctx.moveTo(0, h - dpr); ctx.lineTo(w, h - dpr); ctx.stroke();
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 1.6 * dpr; ctx.beginPath();
    let pen = false;
    for (const p of s.data) {
      if (p.t < start) continue;
      if (p.v === null) { pen = false; continue; }
      drawn++;
      if (!pen) { ctx.moveTo(x(p.t), y(p.v)); pen = true; } else ctx.lineTo(x(p.t), y(p.v));
      ctx.fillRect(x(p.t) - dpr, y(p.v) - dpr, 2 * dpr, 2 * dpr);
    }
    ctx.stroke();
  }
  ctx.fillStyle = "#5b6b7c"; ctx.font = (11 * dpr) + "px sans-serif";
  ctx.fillText("max " + peak.toFixed(peak < 10 ? 1 : 0) + unit, 4 * dpr, 12 * dpr);
  const since = "since " + new Date(start).toLocaleTimeString();
  ctx.fillText(since, w - ctx.measureText(since).width - 4 * dpr, 12 * dpr);
  canvas.setAttribute("data-points", String(drawn));
  return drawn;
}

function drawCharts() {
  for (const d of DOMAINS) {
    const c = document.getElementById("card-" + d);
    if (!c) continue;
    const of = f => points.map(p => ({t: p.t_ms, v: f(p.domains[d], p)}));
    chart(c.querySelector('[data-chart="waiting"]'),
          // stat last, so it is drawn on top of the others
          PRIORITIES.map((name, i) => ({color: COLORS[name], data: of(x => x.ready[i])})).reverse(), "");
    chart(c.querySelector('[data-chart="rates"]'), [
      {color: "#6941c6", data: of((x, p) => x.received * 1000 / p.span_ms)},
      {color: "#1a7f37", data: of((x, p) => x.acked * 1000 / p.span_ms)}], "/s");
    const ms = v => v === null ? null : v * 1000;
    chart(c.querySelector('[data-chart="latency"]'), [
      {color: "#2f6fde", data: of(x => ms(x.latency_p50_seconds))},
      {color: "#b42318", data: of(x => ms(x.latency_p99_seconds))}], " ms");
  }
  let red = 0, dead = 0;
  const start = (brokerNow || Date.now()) - rangeMs();
  for (const p of points) if (p.t_ms >= start) { red += p.redelivered; dead += p.dead_lettered; }
  document.getElementById("redelivered-range").textContent = red;
  document.getElementById("dead-range").textContent = dead;
}

// History: the whole range once, then only what is new.
async function loadHistory(full) {
  const now = brokerNow || Date.now();
  const since = full || points.length === 0 ? now - rangeMs() : points[points.length - 1].t_ms;
  const h = await getJSON("/api/v1/history?since_ms=" + Math.max(0, Math.floor(since)) + "&points=720");
  points = full ? h.points : points.concat(h.points);
  const keep = now - 28800 * 1000;
  while (points.length && points[0].t_ms < keep) points.shift();
}

function fmtAge(s) {
  return s < 120 ? s.toFixed(1) + " s" : s < 7200 ? (s / 60).toFixed(1) + " min" : (s / 3600).toFixed(1) + " h";
}

function showWorkers(list) {
  const body = document.getElementById("workers");
  const rows = [];
  const seen = {};
  for (const x of list) {
    const key = x.host + "#" + x.pid;
    seen[key] = true;
    const before = lastWorkers[key];
    let batch = x.batches_total > 0 ? x.batch_items_total / x.batches_total : 0;
    if (before && x.batches_total > before.batches) {
      batch = (x.batch_items_total - before.items) / (x.batches_total - before.batches); // recent
    }
    lastWorkers[key] = {batches: x.batches_total, items: x.batch_items_total};
    const tr = el("tr", {"data-worker": key});
    tr.appendChild(el("td", {}, x.host + " #" + x.pid));
    tr.appendChild(el("td", {}, x.domain));
    tr.appendChild(el("td", {}, x.version || "?"));
    tr.appendChild(el("td", {}, x.inflight + " / " + x.credit));
    tr.appendChild(el("td", {"data-field": "batch"}, batch.toFixed(1)));
    let db = "waiting for its first heartbeat", cls = "muted";
    if (x.db_connected === true) {
      const commitMs = x.commits_total > 0 ? x.commit_seconds_total * 1000 / x.commits_total : 0;
      db = "connected · " + commitMs.toFixed(1) + " ms/commit · " + x.db_reconnects_total + " reconnects";
      cls = "";
    } else if (x.db_connected === false) {
      db = "DISCONNECTED · " + x.db_reconnects_total + " reconnects"; cls = "bad";
    }
    tr.appendChild(el("td", {"data-field": "database", class: cls}, db));
    // Which brokers of its --broker list it is attached to (null: a worker
    // too old to say).
    let brokers = "not reported", bcls = "muted";
    if (x.brokers) {
      brokers = "attached " + x.brokers.attached + " of " + x.brokers.configured;
      bcls = "";
      if (x.brokers.detached.length > 0) {
        brokers += " · not to " + x.brokers.detached.join(", "); bcls = "bad";
      }
    }
    tr.appendChild(el("td", {"data-field": "brokers", class: bcls}, brokers));
    tr.appendChild(el("td", {}, String(x.processed_total)));
    tr.appendChild(el("td", {class: x.last_heartbeat_age_seconds > 5 ? "bad" : ""},
                      x.last_heartbeat_age_seconds.toFixed(1) + " s ago"));
    rows.push(tr);
  }
  for (const k of Object.keys(lastWorkers)) if (!seen[k]) delete lastWorkers[k];
  if (rows.length === 0) {
    const tr = el("tr");
    tr.appendChild(el("td", {colspan: "9"}, "no worker"));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

// The neighbourhood side (issue 18): one entry per kind of record the broker
// counts by the workers' answers (q.neighbourhood: donations, ratings, and any
// the broker adds later), each the counter referral_<kind>_total.
function showNeighbourhood(n) {
  const panel = document.getElementById("neighbourhood");
  const note = document.getElementById("neighbourhood-counters");
  const kinds = Object.keys(n);
  for (const kind of kinds) {
    if (!document.getElementById("nbhd-" + kind)) {
      const item = el("span", {id: "nbhd-" + kind}, kind + " recorded ");
      const muted = el("span", {class: "muted"}, "(replayed ");
      muted.append(el("span", {id: kind + "-replayed"}, "0"), ", refused ",
                   el("span", {id: kind + "-refused"}, "0"), ")");
      item.append(el("b", {id: kind + "-recorded"}, "0"), " ", muted);
      panel.insertBefore(item, note);
    }
    for (const k of ["recorded", "replayed", "refused"]) document.getElementById(kind + "-" + k).textContent = n[kind][k];
  }
  note.textContent = "since the broker started: " + kinds.map(k => "referral_" + k + "_total").join(", ");
}

function showQueues(q) {
  brokerNow = q.time_ms;
  const status = document.getElementById("status");
  status.textContent = q.ready ? "ready" : (q.draining ? "stopping" : "NOT READY: a domain has no worker");
  status.className = "status " + (q.ready ? "ok" : "bad");
  document.getElementById("version").textContent = q.build.version + (q.build.revision ? " (" + q.build.revision + ")" : "");
  document.getElementById("uptime").textContent = fmtAge(q.uptime_seconds);
  for (const k of ["accepted", "duplicate", "rejected", "busy"]) document.getElementById(k).textContent = q.submissions[k];
  document.getElementById("redelivered").textContent = q.redelivered_total;
  document.getElementById("dead-lettered").textContent = q.dead_lettered_total;
  showNeighbourhood(q.neighbourhood || {});
  for (const item of q.queues) {
    if (!DOMAINS.includes(item.domain)) continue;
    const c = document.getElementById("card-" + item.domain) || card(item.domain, item.domain_fa);
    const set = (f, v) => { c.querySelector('[data-field="' + f + '"]').textContent = v; };
    for (const p of PRIORITIES) set(p, item.ready_by_priority[p]);
    set("ready", item.ready);
    set("oldest", item.oldest_age_seconds.toFixed(1));
    c.querySelector(".stat-box").classList.toggle("hot", item.ready_by_priority.stat > 0);
    const wf = c.querySelector('[data-field="workers"]');
    wf.textContent = item.workers + (item.workers_expected ? " of " + item.workers_expected : "") + " workers live";
    wf.className = item.workers < item.workers_expected || item.workers === 0 ? "bad" : "muted";
  }
}

async function getJSON(path) {
  const r = await fetch(path, {cache: "no-store"});
  if (!r.ok) throw new Error(path + " answered HTTP " + r.status);
  return r.json();
}

let tick = 0;
async function refresh() {
  try {
    const [q, w] = await Promise.all([getJSON("/api/v1/queues"), getJSON("/api/v1/workers")]);
    showQueues(q);
    showWorkers(w.workers);
    if (tick++ % 5 === 0) await loadHistory(tick === 1);
    drawCharts();
  } catch (e) {
    const status = document.getElementById("status");
    status.textContent = "broker unreachable (" + e.message + ")"; status.className = "status bad";
  }
  // For the tests: does the page fit the window (no sideways scrolling)?
  document.body.setAttribute("data-overflow", String(document.documentElement.scrollWidth > window.innerWidth));
}
document.getElementById("range").addEventListener("change", async () => {
  await loadHistory(true); drawCharts();
});
window.addEventListener("resize", drawCharts);
refresh();
setInterval(refresh, 1000);
