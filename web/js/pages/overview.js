// Overview: the log, the projection, group commit, throughput, latency and consumers,
// sampled from /healthz and /metrics every two seconds and charted over five minutes.

import { api, describe } from "../api.js";
import { barChart, lineChart } from "../chart.js";
import { bytes, clear, dataTable, h, notice, panel } from "../dom.js";
import { delta, distribution, histogram, parse, quantile, select, total } from "../prom.js";

const EVERY_MS = 2000;
const SPAN_MS = 5 * 60 * 1000;
// Kept across visits of the page, so the charts do not start empty each time.
const history = { commits: [], latency: [], previous: null };

export async function render(root, { signal }) {
  const status = h("div", { "aria-live": "polite" });
  const stats = h("dl", { class: "stats" });
  const commits = h("div");
  const latency = h("div");
  const batches = h("div");
  const logPanel = h("div");
  const consumers = h("div");
  const links = h("div");
  root.append(
    status,
    panel("Log and projection", stats),
    h("div", { class: "grid" },
      panel("Commits per second", commits),
      panel("Query latency (/query, p95 per interval)", latency)),
    h("div", { class: "grid" },
      panel("Group-commit batch sizes (records per fsync, since start)", batches),
      panel("Segments and checkpoints", logPanel)),
    h("div", { class: "grid" },
      panel("Consumer lag", consumers),
      panel("Kafka and S3", links)),
  );
  const parts = { status, stats, commits, latency, batches, logPanel, consumers, links };
  await refresh(parts, signal);
  // A hidden tab stops sampling; the first sample after the pause averages over it.
  const timer = setInterval(() => { if (!document.hidden) refresh(parts, signal); }, EVERY_MS);
  return () => clearInterval(timer);
}

async function refresh(parts, signal) {
  let health;
  let samples;
  try {
    health = await api.get("/healthz", { signal });
    samples = parse(await api.text("/metrics", { signal }));
  } catch (err) {
    if (signal.aborted) return;
    const hint = err.status === 401 ? " This server requires its metrics token on /metrics (bkgdb serve --metrics-token)." : "";
    clear(parts.status, h("div", { class: "error", role: "alert" }, describe(err) + hint));
    return;
  }
  clear(parts.status);
  record(health, samples);
  drawStats(parts.stats, health, samples);
  const spanMs = windowMs();
  clear(parts.commits, lineChart(history.commits, { label: "Records committed per second", spanMs, width: parts.commits.clientWidth, format: (v) => fmt(v) }),
    summary(history.commits, "records/s"));
  clear(parts.latency, lineChart(history.latency, { label: "p95 latency of /query in milliseconds", spanMs, width: parts.latency.clientWidth, format: (v) => `${fmt(v)} ms` }),
    summary(history.latency, "ms"));
  drawBatches(parts.batches, samples);
  drawLog(parts.logPanel, samples);
  drawConsumers(parts.consumers, samples);
  drawLinks(parts.links, samples);
}

// The charts' time window: the samples so far, at least one minute, at most SPAN_MS.
function windowMs() {
  const first = history.commits[0];
  const seen = first ? Date.now() - first.t : 0;
  return Math.min(SPAN_MS, Math.max(60 * 1000, Math.ceil(seen / 60000) * 60000));
}

// One point per scrape: records appended per second (head LSN delta) and /query p95.
function record(health, samples) {
  const now = Date.now();
  const onQuery = (l) => l.route === "/query";
  const current = { t: now, head: health.head_lsn, query: histogram(samples, "bkg_http_request_duration_seconds", onQuery) };
  const prev = history.previous;
  if (prev && now > prev.t) {
    const seconds = (now - prev.t) / 1000;
    history.commits.push({ t: now, v: Math.max(0, current.head - prev.head) / seconds });
    const p95 = quantile(delta(current.query, prev.query), 0.95);
    history.latency.push({ t: now, v: p95 === null ? null : p95 * 1000 });
  }
  history.previous = current;
  for (const series of [history.commits, history.latency]) {
    while (series.length && now - series[0].t > SPAN_MS) series.shift();
  }
}

function summary(series, unit) {
  const known = series.filter((p) => p.v !== null);
  if (!known.length) return h("p", { class: "meta" }, "No samples yet.");
  const last = known.at(-1).v;
  const peak = Math.max(...known.map((p) => p.v));
  return h("p", { class: "meta" }, `Now ${fmt(last)} ${unit} · peak ${fmt(peak)} ${unit} in the window`);
}

function drawStats(stats, health, samples) {
  const uptime = total(samples, "bkg_uptime_seconds");
  const items = [
    ["Head LSN", health.head_lsn],
    ["Applied LSN", health.applied_lsn],
    ["Projection lag", `${Math.max(0, health.head_lsn - health.applied_lsn)} records`],
    ["Uptime", uptime === null ? "—" : duration(uptime)],
    ["Rate-limited requests", total(samples, "bkg_rate_limit_rejections_total") ?? 0],
  ];
  clear(stats, items.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", { "data-stat": k }, String(v)))));
}

function drawBatches(box, samples) {
  const hist = histogram(samples, "bkg_log_group_commit_records");
  if (!hist.count) return clear(box, notice("No group commit yet since the server started."));
  const bars = distribution(hist);
  while (bars.length > 1 && bars.at(-1)[1] === 0) bars.pop();
  clear(box, barChart(bars, { label: "Number of group commits by records per commit", width: box.clientWidth }),
    h("p", { class: "meta" }, `${hist.count} group commit${hist.count === 1 ? "" : "s"} · average batch size ${fmt(hist.sum / hist.count)}`));
}

// Segment and checkpoint figures, when the server exports them.
function drawLog(box, samples) {
  const segments = select(samples, "bkg_log_segment_bytes");
  const count = total(samples, "bkg_log_segments");
  const checkpoint = total(samples, "bkg_checkpoint_lsn");
  const age = total(samples, "bkg_checkpoint_age_seconds");
  const parts = [];
  if (segments.length) {
    const rows = segments.map((s) => [s.labels.segment || s.labels.name || "?", bytes(s.value)]);
    parts.push(dataTable(["segment", "size"], rows, {}, `${segments.length} segments, ${bytes(segments.reduce((a, s) => a + s.value, 0))}`));
  } else if (count !== null) {
    parts.push(h("p", {}, `${count} segments (${bytes(total(samples, "bkg_log_bytes"))})`));
  } else {
    parts.push(notice("This server's /metrics does not report segments (bkg_log_segments, bkg_log_segment_bytes)."));
  }
  if (checkpoint !== null) {
    parts.push(h("p", {}, `Last checkpoint at LSN ${checkpoint}${age === null ? "" : `, ${duration(age)} ago`}`));
  } else {
    parts.push(notice("This server's /metrics does not report checkpoints (bkg_checkpoint_lsn)."));
  }
  clear(box, parts);
}

function drawConsumers(box, samples) {
  const rows = [["projection", total(samples, "bkg_projection_lag_records") ?? "—", "—", "up"]];
  for (const s of select(samples, "bkg_consumer_lag_records")) {
    const name = s.labels.consumer;
    const on = (l) => l.consumer === name;
    const up = total(samples, "bkg_consumer_up", on);
    rows.push([name, s.value, fmt(total(samples, "bkg_consumer_records_per_second", on) ?? 0), up === null ? "?" : up ? "up" : "down"]);
  }
  const archive = total(samples, "bkg_archive_lag_records");
  if (archive !== null && !rows.some((r) => r[0] === "archive")) rows.push(["archive", archive, "—", "—"]);
  clear(box, dataTable(["consumer", "lag (records)", "records/s", "state"], rows, {}, "Records each consumer still has to process"));
}

function drawLinks(box, samples) {
  const names = new Set(select(samples, "bkg_consumer_up").map((s) => s.labels.consumer));
  const line = (label, pattern, extra) => {
    const name = [...names].find((n) => pattern.test(n));
    const gauge = samples.find((s) => pattern.test(s.name) && /_up$|_connected$|_healthy$/.test(s.name));
    if (!name && !gauge) return h("li", {}, `${label}: not configured on this server`);
    const up = name ? total(samples, "bkg_consumer_up", (l) => l.consumer === name) : gauge.value;
    return h("li", {}, `${label}: `, h("span", { class: `badge ${up ? "on" : "off"}` }, up ? "connected" : "down"), extra ? ` ${extra}` : "");
  };
  const archiveLag = total(samples, "bkg_archive_lag_records");
  clear(box, h("ul", {},
    line("Kafka mirror", /kafka/i),
    line("S3 archive", /archive|s3/i, archiveLag === null ? "" : `(${archiveLag} records behind)`)));
}

function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (Number.isInteger(v)) return String(v);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, "") || "0";
}

function duration(seconds) {
  const s = Math.floor(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
