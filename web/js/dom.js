// Small DOM helpers. Text always goes in as text (never innerHTML), so nothing read from
// the database can become markup.

import { describe } from "./api.js";

// h("button", {class: "x", onclick: f}, "label", child, ...) -> element
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A page section with a heading.
export function panel(title, ...children) {
  return h("section", { class: "panel", "aria-label": title }, h("h2", {}, title), ...children);
}

// An error in words, announced to screen readers.
export function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" }, describe(err));
  if (err && err.status === 401) {
    box.append(" ", h("button", { type: "button", class: "link", onclick: () => window.dispatchEvent(new Event("bkgdb:signout")) }, "Sign in again"));
  }
  return box;
}

export function notice(text) {
  return h("p", { class: "notice", role: "status" }, text);
}

// A labelled form field; returns the wrapper; the control is its `.control`.
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), control);
  if (hint) wrap.append(h("small", { class: "hint" }, hint));
  wrap.control = control;
  return wrap;
}

let toastTimer = null;

export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("show"), 4000);
}

// Cell rendering by value type (and declared column type when known).
function cell(value, type) {
  if (value === null || value === undefined) return h("td", { class: "v-null" }, "NULL");
  if (typeof value === "boolean") return h("td", { class: "v-bool" }, value ? "true" : "false");
  if (typeof value === "number") return h("td", { class: "v-num" }, String(value));
  if (typeof value === "object") return h("td", { class: "v-json" }, JSON.stringify(value));
  const cls = type && /time|date/.test(type) ? "v-time" : "v-text";
  return h("td", { class: cls, title: value.length > 80 ? value : null }, value);
}

// A results table: columns (names), rows (arrays), optional declared types by column name.
export function dataTable(columns, rows, types = {}, caption = null) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c, types[c] ? h("span", { class: "type" }, types[c]) : null)));
  const body = rows.map((row) => h("tr", {}, row.map((v, i) => cell(v, types[columns[i]]))));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "results" },
    h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, body)));
}

// A management list: a header and caller-built rows (<tr> of <td>). On a phone each row
// becomes a card whose cells are labelled with their column names.
export function listTable(columns, rows, label) {
  for (const tr of rows) [...tr.children].forEach((td, i) => td.setAttribute("data-label", columns[i]));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label },
    h("table", { class: "cards" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows)));
}

// Paging over an in-memory list: renders `size` items per page with Previous/Next.
export function pagedList(items, size, renderPage, label = "items") {
  const wrap = h("div", { class: "paged" });
  let page = 0;
  const pages = () => Math.max(1, Math.ceil(items.length / size));
  const draw = () => {
    const slice = items.slice(page * size, page * size + size);
    clear(wrap, renderPage(slice), pages() > 1 ? pager(page, pages(), items.length, label, (p) => { page = p; draw(); }) : null);
  };
  draw();
  return wrap;
}

// Previous / Next controls with "page i of n".
export function pager(page, pages, total, label, go) {
  return h("nav", { class: "pager", "aria-label": `${label} pages` },
    h("button", { type: "button", "aria-label": "Previous page", disabled: page <= 0, onclick: () => go(page - 1) }, "‹ Previous"),
    h("span", {}, `Page ${page + 1} of ${pages}${total === null ? "" : ` · ${total} ${total === 1 ? label.replace(/s$/, "") : label}`}`),
    h("button", { type: "button", "aria-label": "Next page", disabled: page >= pages - 1, onclick: () => go(page + 1) }, "Next ›"));
}

export function when(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16);
}

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
