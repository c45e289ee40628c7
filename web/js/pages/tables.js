// Tables: the schema browser (/schema), a paged row browser (/query) and a live tail of
// the chosen table's changes (/realtime, when the server has it).

import { api, ApiError, describe } from "../api.js";
import { clear, dataTable, errorBox, h, notice, pager, panel } from "../dom.js";
import { subscribe } from "../sse.js";

const PAGE_ROWS = 25;
const TAIL_MAX = 200;
const REFRESH_MS = 1500;

export async function render(root, { signal }) {
  const list = h("div");
  const detail = h("div");
  root.append(h("div", { class: "split" }, panel("Tables", list), detail));
  let schema;
  try {
    schema = await api.get("/schema", { signal });
  } catch (err) {
    clear(list, errorBox(err));
    return null;
  }
  if (!schema.tables.length) {
    clear(list, notice("No tables yet. Create one on the SQL page."));
    return null;
  }
  let stopTail = null;
  const select = (table, button) => {
    for (const b of list.querySelectorAll("button[aria-pressed]")) b.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    if (stopTail) stopTail();
    stopTail = showTable(detail, table, signal);
  };
  const wanted = new URLSearchParams(location.hash.split("?")[1] || "").get("table");
  const buttons = schema.tables.map((t) => {
    const b = h("button", { type: "button", "aria-pressed": "false", onclick: () => select(t, b) }, t.name);
    return b;
  });
  clear(list, h("p", { class: "meta" }, `Schema at LSN ${schema.lsn}`), h("ul", { class: "list" }, buttons.map((b) => h("li", {}, b))));
  const first = Math.max(0, schema.tables.findIndex((t) => t.name === wanted));
  select(schema.tables[first], buttons[first]);
  return () => { if (stopTail) stopTail(); };
}

// Columns, indexes and RLS state, then rows, then the live tail. Returns a stop function.
function showTable(box, table, pageSignal) {
  const types = Object.fromEntries(table.columns.map((c) => [c.name, c.type]));
  const columns = dataTable(["column", "type", "nullable", "primary key"],
    table.columns.map((c) => [c.name, c.type, c.nullable ? "yes" : "no", c.primary_key ? "yes" : ""]), {}, `${table.columns.length} columns`);
  const indexes = table.indexes.length
    ? dataTable(["index", "columns", "unique"], table.indexes.map((i) => [i.name, i.columns.join(", "), i.unique ? "yes" : "no"]))
    : h("p", { class: "meta" }, "No indexes.");
  const rls = h("span", { class: `badge ${table.rls_enabled ? "on" : "off"}` }, table.rls_enabled ? "RLS on" : "RLS off");
  const rows = h("div", { "aria-live": "polite" });
  const tail = h("div");
  clear(box,
    panel(`Table ${table.name}`, h("p", {}, rls, " ", table.rls_enabled
      ? "Users see only rows a policy allows."
      : "No policy: users see no rows; admins and namespace keys see all."), columns, h("h3", {}, "Indexes"), indexes),
    panel("Rows", rows),
    panel("Live changes", tail));
  const controller = new AbortController();
  const stop = () => controller.abort();
  pageSignal.addEventListener("abort", stop);
  const browser = rowBrowser(rows, table, types, controller.signal);
  liveTail(tail, table, controller.signal, browser.refresh);
  return stop;
}

function quoteName(qualified) {
  return qualified.split(".").map((p) => `"${p.replace(/"/g, '""')}"`).join(".");
}

function rowBrowser(box, table, types, signal) {
  let page = 0;
  const pk = table.columns.filter((c) => c.primary_key).map((c) => quoteName(c.name));
  const order = pk.length ? ` ORDER BY ${pk.join(", ")}` : "";
  const from = quoteName(table.name);
  const draw = async () => {
    try {
      const [count, result] = await Promise.all([
        api.query(`SELECT count(*) FROM ${from}`, {}, { signal }),
        api.query(`SELECT * FROM ${from}${order} LIMIT ${PAGE_ROWS} OFFSET ${page * PAGE_ROWS}`, {}, { signal }),
      ]);
      const totalRows = count.rows[0][0];
      const pages = Math.max(1, Math.ceil(totalRows / PAGE_ROWS));
      clear(box,
        h("p", { class: "meta" }, `${totalRows} row${totalRows === 1 ? "" : "s"} · read at LSN ${result.lsn} `,
          h("button", { type: "button", onclick: draw }, "Refresh")),
        dataTable(result.columns, result.rows, types, `rows of ${table.name}`),
        pager(page, pages, totalRows, "rows", (p) => { page = p; draw(); }));
    } catch (err) {
      if (!signal.aborted) clear(box, errorBox(err));
    }
  };
  draw();
  return { refresh: draw };
}

// Subscribe to the table's changes; show them newest first and refresh the rows.
function liveTail(box, table, signal, onChange) {
  const status = h("p", { class: "meta", "aria-live": "polite" }, "Connecting to /realtime…");
  const items = h("ol", { class: "tail", reversed: true, "aria-label": `changes to ${table.name}` });
  clear(box, status, items);
  let pending = null;
  const params = new URLSearchParams({ tables: table.name });
  subscribe(`/realtime?${params}`, {
    signal,
    onOpen: () => { status.textContent = `Live: new changes to ${table.name} appear here as they are committed.`; },
    onEvent: (ev) => {
      if (!ev.data) return;
      let change;
      try { change = JSON.parse(ev.data); } catch { return; }
      if (ev.event === "subscribed") {
        status.textContent = `Live since LSN ${change.lsn}: new changes to ${table.name} appear here as they are committed.`;
        return;
      }
      if (!["insert", "update", "delete", "ddl"].includes(ev.event || change.op)) {
        status.textContent = `Live tail ended by the server (${ev.event}). Reload the page to resume.`;
        return;
      }
      items.prepend(h("li", { "data-op": change.op },
        h("span", { class: "op" }, (change.op || ev.event).toUpperCase()),
        `LSN ${change.lsn}.${change.index} by ${change.actor || "?"}: `,
        JSON.stringify(change.new ?? change.old)));
      while (items.children.length > TAIL_MAX) items.lastChild.remove();
      // Refresh the rows at most every REFRESH_MS: a busy table must not spend the rate limit.
      if (!pending) pending = setTimeout(() => { pending = null; onChange(); }, REFRESH_MS);
    },
  }).catch((err) => {
    if (signal.aborted) return;
    const text = err instanceof ApiError && err.unavailable
      ? "Live tail not available: this server does not offer /realtime yet. Use Refresh on the rows above."
      : `Live tail stopped. ${describe(err)}`;
    clear(box, h("p", { class: err instanceof ApiError && err.unavailable ? "notice" : "error", role: "status" }, text));
  });
}
