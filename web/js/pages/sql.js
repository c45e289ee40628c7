// SQL: an editor with history, typed results with their LSN, time travel with "as of LSN",
// errors with their code and position. Several statements separated by ";" run as one
// atomic batch (one log record).

import { api, ApiError, describe } from "../api.js";
import { clear, dataTable, field, h, pagedList, panel } from "../dom.js";

const HISTORY_KEY = "bkgdb.admin.sql-history";
const HISTORY_MAX = 50;
const PAGE_ROWS = 50;

export function render(root) {
  const editor = h("textarea", { class: "sql", spellcheck: "false", "aria-describedby": "sql-help", placeholder: "select * from todos" });
  const asOf = h("input", { type: "number", min: "1", step: "1", inputmode: "numeric", placeholder: "latest", class: "narrow" });
  const run = h("button", { type: "submit", class: "primary" }, "Run");
  const output = h("div", { "aria-live": "polite", id: "sql-output" });
  const historyBox = h("div");
  const form = h("form", { onsubmit: (ev) => { ev.preventDefault(); execute(); } },
    field("Statement", editor),
    h("p", { class: "meta", id: "sql-help" }, "Ctrl+Enter (⌘+Enter) runs. Several statements separated by “;” run as one atomic batch."),
    h("div", { class: "row" }, field("As of LSN", asOf), run));
  form.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); execute(); }
  });
  root.append(h("div", { class: "split" },
    panel("History", historyBox),
    h("div", {}, panel("Editor", form), output)));
  drawHistory(historyBox, editor);

  async function execute() {
    const sql = editor.value.trim();
    const statements = splitStatements(sql);
    if (!statements.length) return clear(output, h("div", { class: "error", role: "alert" }, "Write a statement first."));
    run.disabled = true;
    clear(output, h("p", { class: "notice" }, "Running…"));
    const began = performance.now();
    try {
      const lsn = asOf.value ? Number(asOf.value) : null;
      let answer;
      if (statements.length > 1) {
        if (lsn !== null) throw new ApiError(422, "VALIDATION_ERROR", "“as of LSN” reads one statement at a time; run the statements separately");
        answer = await api.post("/query", { statements: statements.map((s) => ({ sql: s })) });
      } else {
        answer = await api.query(statements[0], lsn === null ? {} : { as_of_lsn: lsn });
      }
      remember(sql);
      drawHistory(historyBox, editor);
      showResults(output, answer, performance.now() - began, lsn, await declaredTypes(statements));
    } catch (err) {
      clear(output, errorView(err, sql));
    } finally {
      run.disabled = false;
    }
  }
}

// Declared column types of the table a single SELECT reads (from /schema), by column name.
async function declaredTypes(statements) {
  const m = statements.length === 1 && /^\s*select\b[\s\S]*?\bfrom\s+("?\w+"?(?:\."?\w+"?)?)/i.exec(statements[0]);
  if (!m) return {};
  const name = m[1].replace(/"/g, "").toLowerCase();
  try {
    const { tables } = await api.get("/schema");
    const matches = tables.filter((t) => t.name === name || t.name.endsWith(`.${name}`));
    const table = matches.find((t) => t.name === name || t.name === `public.${name}`) || (matches.length === 1 ? matches[0] : null);
    return table ? Object.fromEntries(table.columns.map((c) => [c.name, c.type])) : {};
  } catch {
    return {};
  }
}

function showResults(output, answer, ms, asOf, declared) {
  const results = answer.results || [answer];
  const when = asOf === null ? "" : ` (as of LSN ${asOf})`;
  const head = h("p", { class: "meta", "data-lsn": answer.lsn }, `LSN ${answer.lsn}${when} · ${results.length > 1 ? `${results.length} statements · ` : ""}${Math.round(ms)} ms`);
  clear(output, head, results.map((r, i) => panel(results.length > 1 ? `Result ${i + 1}` : "Result", resultView(r, declared))));
}

function resultView(result, declared = {}) {
  const count = h("p", { class: "meta" }, result.columns.length
    ? `${result.rows.length} row${result.rows.length === 1 ? "" : "s"} · read at LSN ${result.lsn}`
    : `${result.rowcount} row${result.rowcount === 1 ? "" : "s"} affected · committed at LSN ${result.lsn}`);
  if (!result.columns.length) return count;
  const types = { ...inferTypes(result.columns, result.rows), ...declared };
  return h("div", {}, count, pagedList(result.rows, PAGE_ROWS, (rows) => dataTable(result.columns, rows, types, "query result"), "rows"));
}

// The type shown under a column name when the table's declared type is not known: the JSON
// type of its first non-null value.
function inferTypes(columns, rows) {
  const types = {};
  columns.forEach((c, i) => {
    const v = rows.find((r) => r[i] !== null && r[i] !== undefined)?.[i];
    types[c] = v === undefined ? "null" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "real")
      : typeof v === "boolean" ? "boolean" : typeof v === "object" ? "json" : "text";
  });
  return types;
}

// The error in words; for a syntax error, the statement's line with a caret at the column.
function errorView(err, sql) {
  const box = h("div", { class: "error", role: "alert" }, describe(err));
  const d = err instanceof ApiError ? err.detail : null;
  if (d && d.line && d.col) {
    const line = sql.split("\n")[d.line - 1] || "";
    box.append(h("pre", { class: "mono" }, `${line}\n${" ".repeat(Math.max(0, d.col - 1))}^`));
  }
  return box;
}

// Split on ";" outside quotes; "--" comments are dropped, and so are empty pieces.
export function splitStatements(sql) {
  const out = [];
  let current = "";
  let quote = null;
  for (let i = 0; i < sql.length; i += 1) {
    const ch = sql[i];
    if (quote) {
      current += ch;
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if (ch === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end - 1;
    } else if (ch === ";") {
      if (current.trim()) out.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function loadHistory() {
  try {
    return JSON.parse(sessionStorage.getItem(HISTORY_KEY) || "[]");
  } catch {
    return [];
  }
}

function remember(sql) {
  const list = [sql, ...loadHistory().filter((s) => s !== sql)].slice(0, HISTORY_MAX);
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(list));
}

function drawHistory(box, editor) {
  const list = loadHistory();
  if (!list.length) return clear(box, h("p", { class: "meta" }, "Statements you run appear here (this tab only)."));
  clear(box, pagedList(list, 10, (items) => h("ul", { class: "list history" }, items.map((sql) =>
    h("li", {}, h("button", { type: "button", title: sql, onclick: () => { editor.value = sql; editor.focus(); } }, sql.replace(/\s+/g, " "))))), "statements"));
}
