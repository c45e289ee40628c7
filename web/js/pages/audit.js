// Audit: the signed audit trail (GET /audit), paged and filtered on the server, with the
// verification status of its sealed files and a "verify now" action (POST /audit/verify).
// Servers without the endpoint get a plain "not available" message.

import { api, ApiError, describe } from "../api.js";
import { clear, dataTable, errorBox, field, h, notice, pager, panel } from "../dom.js";

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
  root.append(panel("Filter", form), panel("Events", out), panel("Verification", h("p", {}, verify), verifyBox));
  await load();
  return null;
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
