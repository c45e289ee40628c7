// Audit: the signed audit trail (GET /audit), paged and filtered on the server, with the
// verification status of its sealed files and a "verify now" action (POST /audit/verify);
// and the change history of one row, read from the log over /realtime (until_lsn).
// Servers without an endpoint get a plain "not available" message.

import { api, ApiError, describe } from "../api.js";
import { clear, dataTable, errorBox, field, h, notice, pager, panel } from "../dom.js";
import { subscribe } from "../sse.js";

const PAGE = 50;
const FILTERS = [["kind", "ddl, dml, auth, policy…"], ["actor", "admin, key:…, user:…"], ["table", "public.todos"], ["from_lsn", "1"]];

export async function render(root) {
  const out = h("div", { "aria-live": "polite" });
  const verifyBox = h("div", { "aria-live": "polite" });
  const inputs = Object.fromEntries(FILTERS.map(([name, hint]) => [name, h("input", { name, autocomplete: "off", placeholder: hint })]));
  const cursors = [null];
  let page = 0;
  const load = async () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const [name, input] of Object.entries(inputs)) if (input.value.trim()) params.set(name, input.value.trim());
    if (cursors[page]) params.set("cursor", cursors[page]);
    try {
      const answer = await api.get(`/audit?${params}`);
      const events = Array.isArray(answer) ? answer : answer.items || answer.events || [];
      const next = Array.isArray(answer) ? null : answer.next_cursor ?? answer.cursor ?? null;
      cursors[page + 1] = next;
      clear(out, events.length ? eventsTable(events) : notice("No audit events match."),
        pager(page, next ? page + 2 : page + 1, null, "events", (p) => { page = p; load(); }),
        answer.files ? filesTable(answer.files) : null);
      return true;
    } catch (err) {
      clear(out, err instanceof ApiError && err.unavailable
        ? notice("The audit trail is not available on this server: it does not offer GET /audit yet. `bkgdb audit export` reads it from the command line.")
        : errorBox(err));
      return false;
    }
  };
  const form = h("form", { onsubmit: (ev) => { ev.preventDefault(); page = 0; cursors.length = 1; load(); } },
    h("div", { class: "row" }, Object.entries(inputs).map(([name, input]) => field(name.replace("_", " "), input)),
      h("button", { type: "submit" }, "Filter")));
  const verify = h("button", { type: "button", onclick: async () => {
    clear(verifyBox, h("p", { class: "meta" }, "Verifying…"));
    try {
      const result = await api.post("/audit/verify", {});
      const ok = result && (result.ok ?? result.valid);
      clear(verifyBox, h("p", { class: ok === false ? "error" : "ok", role: "status" },
        ok === false ? `Verification FAILED: ${JSON.stringify(result)}` : `Verified: ${JSON.stringify(result)}`),
        result && result.files ? filesTable(result.files) : null);
    } catch (err) {
      clear(verifyBox, h("div", { class: "error", role: "alert" }, err instanceof ApiError && err.unavailable
        ? "Verification is not available on this server (no POST /audit/verify)."
        : describe(err)));
    }
  } }, "Verify now");
  root.append(panel("Filter", form), panel("Events", out), panel("Verification", h("p", {}, verify), verifyBox), rowHistory());
  await load();
  return null;
}

// Every change to one row, oldest first: the table's changes up to the head, read from the
// log by a bounded /realtime stream, kept where the key column has the given value before
// or after the change.
function rowHistory() {
  const input = (name, hint, value = "") => h("input", { name, placeholder: hint, value, autocomplete: "off" });
  const table = input("history_table", "public.todos");
  const column = input("history_column", "id", "id");
  const value = input("history_value", "1");
  const out = h("div", { "aria-live": "polite" });
  const show = async () => {
    clear(out, h("p", { class: "meta" }, "Reading the log…"));
    const changes = [];
    const done = new AbortController();
    const key = column.value.trim();
    const matches = (row) => row != null && String(row[key]) === value.value.trim();
    try {
      const { head_lsn: head } = await api.get("/healthz");
      const params = new URLSearchParams({ tables: table.value.trim(), from_lsn: "1", until_lsn: String(head) });
      await subscribe(`/realtime?${params}`, {
        signal: done.signal,
        onEvent: (ev) => {
          if (ev.event === "end") { done.abort(); return; }
          if (!["insert", "update", "delete"].includes(ev.event)) return;
          const change = JSON.parse(ev.data);
          if (matches(change.new) || matches(change.old)) changes.push(change);
        },
      });
      const rows = changes.map((c) => [`${c.lsn}.${c.index}`, c.ts, c.op, c.actor,
        c.old ? JSON.stringify(c.old) : null, c.new ? JSON.stringify(c.new) : null]);
      clear(out, rows.length
        ? dataTable(["id", "time", "op", "actor", "before", "after"], rows, {}, `history of ${key} = ${value.value.trim()}`)
        : notice(`No change to a row with ${key} = ${value.value.trim()} up to LSN ${head}.`));
    } catch (err) {
      clear(out, err instanceof ApiError && err.unavailable
        ? notice("Row history needs /realtime, which this server does not offer.")
        : errorBox(err));
    }
  };
  const form = h("form", { onsubmit: (ev) => { ev.preventDefault(); show(); } },
    h("div", { class: "row" }, field("table", table), field("key column", column), field("key value", value),
      h("button", { type: "submit" }, "Show history")));
  return panel("Row history", form, out);
}

// Audit lines (see projections/consumers/audit_lines.py): the known fields as columns, in
// this order, and anything else as JSON in "details".
const COLUMNS = ["lsn", "time", "kind", "actor", "namespace", "tables", "rows", "statements"];

function eventsTable(events) {
  const shown = COLUMNS.filter((c) => events.some((e) => c in e));
  const rows = events.map((e) => [
    ...shown.map((k) => (Array.isArray(e[k]) ? e[k].join("; ") : e[k] ?? null)),
    summary(Object.fromEntries(Object.entries(e).filter(([k]) => !shown.includes(k)))),
  ]);
  return dataTable([...shown, "details"], rows, {}, "audit events");
}

function summary(rest) {
  const text = JSON.stringify(rest);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function filesTable(files) {
  const rows = files.map((f) => [f.name ?? f.file ?? "?", f.first_lsn ?? null, f.last_lsn ?? null, f.verified ?? f.status ?? null]);
  return h("div", {}, h("h3", {}, "Sealed files"), dataTable(["file", "first LSN", "last LSN", "verified"], rows));
}
