/// The dashboard's one page: HTML, CSS and JavaScript inline, charts drawn on `<canvas>` by hand,
/// nothing fetched from anywhere but the dashboard itself (`/events`).
///
/// Stable hooks for tests and scripts: `#head-position`, `#connection[data-state]`, one
/// `[data-process][data-state]` row per process with `[data-field]` cells, `#faults li[data-process][data-state]`,
/// and the charts `#chart-positions`, `#chart-behind`, `#chart-lag`.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prism dashboard</title>
<style>
  :root { --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --panel: #ffffff; --bg: #f4f5f8;
          --live: #1a9c5b; --warn: #d98a00; --bad: #d2343f; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 28px; padding: 14px 22px; background: var(--panel); border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  .figure { display: flex; flex-direction: column; }
  .figure .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .figure .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
  #connection { margin-left: auto; font-size: 12px; color: var(--muted); }
  #connection[data-state="open"]::before { content: "● "; color: var(--live); }
  #connection[data-state="closed"]::before { content: "● "; color: var(--bad); }
  main { padding: 16px 22px; display: grid; gap: 16px; }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
  section h2 { font-size: 13px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 5px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child, th:nth-child(2), td:nth-child(2), td.error { text-align: left; }
  td.error { white-space: normal; color: var(--muted); font-size: 12px; max-width: 420px; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
  .state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
  [data-state="live"] .state, [data-state="serving"] .state { background: var(--live); }
  [data-state="catchingUp"] .state, [data-state="rebuilding"] .state { background: var(--warn); }
  [data-state="down"] .state, [data-state="failed"] .state, [data-state="disconnected"] .state,
  [data-state="retrying"] .state, [data-state="appendsRefused"] .state { background: var(--bad); }
  .stale { color: var(--muted); }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
  canvas { width: 100%; height: 220px; display: block; }
  .legend { font-size: 12px; color: var(--muted); margin-top: 4px; }
  #faults { margin: 0; padding-left: 18px; font-size: 13px; max-height: 160px; overflow-y: auto; }
  #faults li.fault { color: var(--bad); }
  #faults li.recovery { color: var(--live); }
  #faults:empty::after { content: "none in the window"; color: var(--muted); }
</style>
</head>
<body>
<header>
  <h1>Prism</h1>
  <div class="figure"><span class="label">head position</span><span class="value" id="head-position">–</span></div>
  <div class="figure"><span class="label">write node</span>
    <span class="value" data-process="write-node" data-state="unknown"><span class="state" data-field="state">unknown</span></span></div>
  <div class="figure"><span class="label">events/s</span><span class="value" id="head-rate">–</span></div>
  <span id="connection" data-state="connecting">connecting…</span>
</header>
<main>
  <section>
    <h2>Projectors</h2>
    <table>
      <thead><tr><th>projector</th><th>state</th><th>applied</th><th>behind</th><th>lag p50</th><th>lag p99</th><th>events applied</th><th>note</th></tr></thead>
      <tbody id="projectors"></tbody>
    </table>
  </section>
  <div class="charts">
    <section><h2>Positions: head and applied</h2><canvas id="chart-positions"></canvas><div class="legend" id="legend-positions"></div></section>
    <section><h2>Events behind the head</h2><canvas id="chart-behind"></canvas><div class="legend" id="legend-behind"></div></section>
    <section><h2>Lag per second: p50 (solid), p99 (dashed)</h2><canvas id="chart-lag"></canvas><div class="legend" id="legend-lag"></div></section>
    <section><h2>Faults</h2><ol id="faults"></ol></section>
  </div>
</main>
<script>
"use strict";
const COLORS = ["#4363d8", "#e6194b", "#3cb44b", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"];
const FAULT_STATES = new Set(["down", "failed", "disconnected", "retrying", "appendsRefused"]);
let names = [], points = [], faults = [], windowMs = 300000, serverNow = Date.now();

const $ = (selector, root = document) => root.querySelector(selector);
const projectorNames = () => names.slice(1);
const colorOf = name => COLORS[Math.max(0, projectorNames().indexOf(name)) % COLORS.length];

function micros(us) {
  if (us == null) return "–";
  if (us < 1000) return us + "µs";
  if (us < 1e6) return (us / 1000).toFixed(1) + "ms";
  return (us / 1e6).toFixed(1) + "s";
}
const decadeLabel = us => micros(us).replace(".0", "");
const count = n => n == null ? "–" : n.toLocaleString("en-US");

function buildRows() {
  const body = $("#projectors");
  body.textContent = "";
  for (const name of projectorNames()) {
    const row = document.createElement("tr");
    row.dataset.process = name;
    row.dataset.state = "unknown";
    row.innerHTML = `<td><span class="swatch"></span><span data-field="name"></span></td>
      <td><span class="state" data-field="state">unknown</span></td><td data-field="position">–</td><td data-field="behind">–</td>
      <td data-field="lagP50Us">–</td><td data-field="lagP99Us">–</td><td data-field="eventsApplied">–</td><td class="error" data-field="error"></td>`;
    $(".swatch", row).style.background = colorOf(name);
    $('[data-field="name"]', row).textContent = name;
    body.appendChild(row);
  }
  const legend = projectorNames().map(n => `<span class="swatch" style="background:${colorOf(n)}"></span>${n}`).join("&nbsp;&nbsp; ");
  $("#legend-positions").innerHTML = `<span class="swatch" style="background:#1d2330"></span>head&nbsp;&nbsp; ` + legend;
  $("#legend-behind").innerHTML = legend;
  $("#legend-lag").innerHTML = legend;
}

function renderState(update) {
  serverNow = update.time;
  $("#head-position").textContent = count(update.head);
  $("#head-position").dataset.value = update.head ?? "";
  for (const process of update.processes) {
    const element = document.querySelector(`[data-process="${process.name}"]`);
    if (!element) continue;
    element.dataset.state = process.state;
    $('[data-field="state"]', element).textContent = process.state;
    // `data-value` holds the number as sent (empty when unknown), the text its display.
    const field = (key, value, text, stale) => {
      const cell = $(`[data-field="${key}"]`, element);
      if (!cell) return;
      cell.textContent = text;
      cell.dataset.value = value ?? "";
      cell.classList.toggle("stale", !!stale);
    };
    // While a process is down, its last known position stays, greyed.
    field("position", process.position, count(process.position ?? process.lastPosition), process.position == null);
    field("behind", process.behind, count(process.behind));
    field("lagP50Us", process.lagP50Us, micros(process.lagP50Us));
    field("lagP99Us", process.lagP99Us, micros(process.lagP99Us));
    field("eventsApplied", process.eventsApplied, count(process.eventsApplied));
    field("error", process.error, process.error || "");
  }
  const recent = points.slice(-6);
  if (recent.length >= 2 && recent[0].head != null && recent.at(-1).head != null) {
    const seconds = (recent.at(-1).time - recent[0].time) / 1000;
    $("#head-rate").textContent = count(Math.round((recent.at(-1).head - recent[0].head) / seconds));
  }
}

function renderFaults() {
  const list = $("#faults");
  list.textContent = "";
  for (const fault of faults.slice().reverse()) {
    const item = document.createElement("li");
    item.dataset.process = fault.process;
    item.dataset.state = fault.state;
    item.dataset.time = fault.time;
    item.className = FAULT_STATES.has(fault.state) ? "fault" : "recovery";
    const clock = new Date(fault.time).toLocaleTimeString("en-GB");
    item.textContent = `${clock} ${fault.process}: ${fault.previous ?? "?"} → ${fault.state}` + (fault.error ? ` (${fault.error})` : "");
    list.appendChild(item);
  }
}

// One chart: `series` of {color, dashed, values: [[time, value|null]]}; gaps break the line.
function drawChart(canvas, series, { log = false, format = count } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  const left = 64, right = 10, top = 14, bottom = 22;
  const plotW = width - left - right, plotH = height - top - bottom;
  // The axis grows with the data until it spans the window: a fresh dashboard is not a flat line at the right edge.
  const t1 = serverNow, span = Math.min(windowMs, Math.max(60000, t1 - (points.length ? points[0].time : t1)));
  const t0 = t1 - span;
  const values = series.flatMap(s => s.values.map(v => v[1])).filter(v => v != null && (!log || v > 0));
  let lo = log ? Math.min(...values) : 0, hi = Math.max(...values, 1);
  if (log && !values.length) { lo = 100; hi = 100000; }
  if (log) { lo = Math.pow(10, Math.floor(Math.log10(lo))); hi = Math.pow(10, Math.ceil(Math.log10(hi))); if (hi <= lo) hi = lo * 10; }
  else hi = niceCeiling(hi / 4) * 4;
  const x = t => left + (t - t0) / (t1 - t0) * plotW;
  const y = v => log ? top + plotH - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * plotH
                     : top + plotH - v / hi * plotH;
  g.font = "11px system-ui, sans-serif";
  g.strokeStyle = "#e3e6ec";
  g.fillStyle = "#6b7385";
  g.lineWidth = 1;
  const ticks = log ? decades(lo, hi) : [0, 1, 2, 3, 4].map(i => hi * i / 4);
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const tick of ticks) {
    const ty = Math.round(y(tick)) + 0.5;
    g.beginPath(); g.moveTo(left, ty); g.lineTo(left + plotW, ty); g.stroke();
    g.fillText(format(tick), left - 6, ty);
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  const stepMs = [10, 15, 30, 60, 120, 300, 600, 1800, 3600].map(s => s * 1000).find(step => span / step <= 6) || 7200000;
  for (let ago = 0; ago <= span; ago += stepMs) {
    const minutes = Math.floor(ago / 60000), seconds = ago / 1000 % 60;
    const label = ago === 0 ? "now" : "-" + (minutes ? minutes + "m" : "") + (seconds ? seconds + "s" : "");
    g.fillText(label, x(t1 - ago), top + plotH + 5);
  }
  // Fault markers: a dashed line each, the label beside it, a row lower when it would overlap the previous one.
  const labels = [];
  for (const fault of faults) {
    if (fault.time < t0) continue;
    const fx = Math.round(x(fault.time)) + 0.5;
    g.strokeStyle = g.fillStyle = FAULT_STATES.has(fault.state) ? "#d2343f" : "#1a9c5b";
    g.setLineDash([3, 3]);
    g.beginPath(); g.moveTo(fx, top); g.lineTo(fx, top + plotH); g.stroke();
    g.setLineDash([]);
    const text = `${fault.process} ${fault.state}`, textW = g.measureText(text).width;
    const onLeft = fx + 3 + textW > left + plotW;
    const from = onLeft ? fx - 3 - textW : fx + 3;
    let row = 0;
    while (labels.some(l => l.row === row && from < l.to && l.from < from + textW)) row++;
    labels.push({ row, from, to: from + textW });
    g.textAlign = "left";
    g.fillText(text, from, top + 2 + row * 13);
  }
  g.save();
  g.beginPath(); g.rect(left, top, plotW, plotH); g.clip();
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 1.6;
    g.setLineDash(s.dashed ? [5, 3] : []);
    g.beginPath();
    let drawing = false;
    for (const [t, v] of s.values) {
      if (v == null || (log && v <= 0)) { drawing = false; continue; }
      if (drawing) g.lineTo(x(t), y(v)); else g.moveTo(x(t), y(v));
      drawing = true;
    }
    g.stroke();
  }
  g.restore();
}

function niceCeiling(v) {
  const magnitude = Math.pow(10, Math.floor(Math.log10(v)));
  for (const step of [1, 2, 2.5, 5, 10]) if (v <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}
function decades(lo, hi) { const out = []; for (let v = lo; v <= hi * 1.0001; v *= 10) out.push(v); return out; }

function draw() {
  const pick = (key, name) => points.map(p => [p.time, key === "head" ? p.head : (p[key][name] ?? null)]);
  drawChart($("#chart-positions"), [
    { color: "#1d2330", values: pick("head") },
    ...projectorNames().map(n => ({ color: colorOf(n), values: pick("applied", n) })),
  ]);
  drawChart($("#chart-behind"), projectorNames().map(n => ({ color: colorOf(n), values: pick("behind", n) })));
  drawChart($("#chart-lag"), projectorNames().flatMap(n => [
    { color: colorOf(n), values: pick("lagP50Us", n) },
    { color: colorOf(n), dashed: true, values: pick("lagP99Us", n) },
  ]), { log: true, format: decadeLabel });
}

function trim(now) {
  points = points.filter(p => p.time >= now - windowMs);
  faults = faults.filter(f => f.time >= now - windowMs);
}

function connect() {
  const connection = $("#connection");
  const source = new EventSource("events");
  source.onopen = () => { connection.dataset.state = "open"; connection.textContent = "live updates"; };
  source.onerror = () => { connection.dataset.state = "closed"; connection.textContent = "dashboard unreachable, retrying…"; };
  // Sent first on every (re)connection: the whole window, replacing what the page had.
  source.addEventListener("history", event => {
    const history = JSON.parse(event.data);
    names = history.names;
    windowMs = history.windowSeconds * 1000;
    points = history.points;
    faults = history.faults;
    buildRows();
    renderFaults();
    draw();
  });
  source.addEventListener("update", event => {
    const update = JSON.parse(event.data);
    if (update.point) points.push(update.point);
    faults.push(...update.faults);
    trim(update.time);
    renderState(update);
    if (update.faults.length) renderFaults();
    if (update.point || update.faults.length) draw();
    $("#connection").dataset.updated = update.time;
  });
}
window.addEventListener("resize", draw);
connect();
</script>
</body>
</html>
"""#
}
