// Reading the Prometheus text format of /metrics: samples, sums and histogram deltas.

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

// [{name, labels: {k: v}, value}] of every sample line.
export function parse(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

export function select(samples, name, where = () => true) {
  return samples.filter((s) => s.name === name && where(s.labels));
}

// Sum of a metric's samples (optionally filtered by labels); null when it is absent.
export function total(samples, name, where) {
  const found = select(samples, name, where);
  return found.length ? found.reduce((a, s) => a + s.value, 0) : null;
}

// A histogram's cumulative buckets summed over label sets: {le: count}, plus count and sum.
export function histogram(samples, name, where) {
  const buckets = new Map();
  for (const s of select(samples, `${name}_bucket`, where)) {
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) || 0) + s.value);
  }
  return {
    buckets,
    count: total(samples, `${name}_count`, where) || 0,
    sum: total(samples, `${name}_sum`, where) || 0,
  };
}

// The observations between two scrapes of one histogram (later minus earlier).
export function delta(later, earlier) {
  const buckets = new Map();
  for (const [le, n] of later.buckets) buckets.set(le, n - ((earlier && earlier.buckets.get(le)) || 0));
  return {
    buckets,
    count: later.count - (earlier ? earlier.count : 0),
    sum: later.sum - (earlier ? earlier.sum : 0),
  };
}

// Upper bound of the bucket holding the q-quantile (what Prometheus' histogram_quantile
// interpolates); null when there were no observations.
export function quantile(hist, q) {
  if (!hist.count) return null;
  const bounds = [...hist.buckets.keys()].sort((a, b) => a - b);
  const rank = q * hist.count;
  let previous = 0;
  let lower = 0;
  for (const le of bounds) {
    const n = hist.buckets.get(le);
    if (n >= rank) {
      if (le === Infinity) return lower;
      const inBucket = n - previous;
      return inBucket > 0 ? lower + (le - lower) * ((rank - previous) / inBucket) : le;
    }
    previous = n;
    lower = le;
  }
  return lower;
}

// "3–4" for the integer bucket (2, 4], "4" for (3, 4], "0.01–0.1" for (0.01, 0.1].
function bucketLabel(lower, le) {
  if (le === Infinity) return `>${lower}`;
  if (!Number.isInteger(le) || !Number.isInteger(lower)) return `${lower}–${le}`;
  return lower + 1 >= le ? `${le}` : `${lower + 1}–${le}`;
}

// Per-bucket (not cumulative) counts: [[label, count], ...] for a bar chart.
export function distribution(hist) {
  const bounds = [...hist.buckets.keys()].sort((a, b) => a - b);
  let previous = 0;
  let lower = 0;
  const bars = [];
  for (const le of bounds) {
    const n = hist.buckets.get(le);
    bars.push([bucketLabel(lower, le), n - previous]);
    previous = n;
    lower = le;
  }
  return bars;
}
