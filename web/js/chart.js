// Charts drawn as SVG by hand: a time line with its axis, and a bar distribution.
// They scale with their container (viewBox) and carry a text summary for screen readers.

const NS = "http://www.w3.org/2000/svg";
const H = 180;
const PAD = { left: 52, right: 12, top: 12, bottom: 26 };

function s(tag, attrs = {}, text = null) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

// Charts are drawn at their container's width (at least 280 px), so that labels keep their
// size on phones.
function widthOf(width) {
  return Math.max(280, Math.round(width || 480));
}

function svg(label, W) {
  const root = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "chart" });
  root.append(s("title", {}, label));
  return root;
}

// A "nice" upper bound for the y axis (1, 2, 2.5 or 5 times a power of ten).
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function yAxis(root, W, max, format) {
  const plotH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    root.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "gridline" }));
    root.append(s("text", { x: PAD.left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, format((max * i) / 4)));
  }
}

function ago(ms) {
  return ms < 120000 ? `-${Math.round(ms / 1000)} s` : `-${Math.round(ms / 60000)} min`;
}

// points: [{t: ms, v: number|null}], a window of `spanMs` ending now; `width` in px.
export function lineChart(points, { label, format = String, spanMs = 5 * 60 * 1000, width }) {
  const W = widthOf(width);
  const root = svg(label, W);
  const now = Date.now();
  const known = points.filter((p) => p.v !== null && Number.isFinite(p.v));
  const max = niceMax(Math.max(0, ...known.map((p) => p.v)));
  yAxis(root, W, max, format);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + plotW * (1 - (now - t) / spanMs);
  const y = (v) => PAD.top + plotH - (plotH * v) / max;
  for (const [frac, text] of [[0, ago(spanMs)], [0.5, ago(spanMs / 2)], [1, "now"]]) {
    root.append(s("text", { x: PAD.left + plotW * frac, y: H - 8, class: "tick", "text-anchor": frac === 0 ? "start" : frac === 1 ? "end" : "middle" }, text));
  }
  const inWindow = known.filter((p) => now - p.t <= spanMs);
  if (inWindow.length >= 2) {
    const d = inWindow.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    root.append(s("path", { d: `${d} L${x(inWindow.at(-1).t).toFixed(1)},${y(0)} L${x(inWindow[0].t).toFixed(1)},${y(0)} Z`, class: "area" }));
    root.append(s("path", { d, class: "line" }));
  }
  if (inWindow.length) {
    const last = inWindow.at(-1);
    root.append(s("circle", { cx: x(last.t), cy: y(last.v), r: 3, class: "dot" }));
  } else {
    root.append(s("text", { x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, class: "empty", "text-anchor": "middle" }, "waiting for samples…"));
  }
  return root;
}

// bars: [[label, value], ...]
export function barChart(bars, { label, format = String, width }) {
  const W = widthOf(width);
  const root = svg(label, W);
  const max = niceMax(Math.max(0, ...bars.map((b) => b[1])));
  yAxis(root, W, max, format);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, bars.length);
  bars.forEach(([name, value], i) => {
    const hgt = (plotH * value) / max;
    const bx = PAD.left + i * slot + slot * 0.15;
    const bar = s("rect", { x: bx, y: PAD.top + plotH - hgt, width: slot * 0.7, height: Math.max(0, hgt), class: "bar" });
    bar.append(s("title", {}, `${name}: ${value}`));
    root.append(bar);
    if (bars.length <= 14 || i % 2 === 0) {
      root.append(s("text", { x: bx + slot * 0.35, y: H - 8, class: "tick", "text-anchor": "middle" }, name));
    }
  });
  return root;
}
