// The dashboard's shell: sign-in, navigation between pages (#/name), page lifetimes.
//
// Each page module exports `render(root, ctx)`, which may return a cleanup
// function. ctx.signal aborts when the page is left, stopping its polling and streams.

import { api, clearToken, describe, getToken, principalOf, setToken } from "./api.js";
import { clear, errorBox, field, h } from "./dom.js";

const PAGES = [
  ["overview", "Overview"],
  ["sql", "SQL"],
  ["tables", "Tables"],
  ["policies", "Policies"],
  ["keys", "Users & keys"],
  ["audit", "Audit"],
  ["storage", "Storage"],
  ["migrations", "Migrations"],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const menu = document.getElementById("menu");
let leave = null;

function currentPage() {
  const name = location.hash.replace(/^#\/?/, "").split("?")[0];
  return PAGES.some(([p]) => p === name) ? name : "overview";
}

function drawNav(active) {
  clear(nav, h("ul", {}, PAGES.map(([name, label]) => h("li", {},
    h("a", { href: `#/${name}`, "aria-current": name === active ? "page" : null }, label)))));
}

function stopPage() {
  if (leave) leave();
  leave = null;
}

async function showPage() {
  stopPage();
  const token = getToken();
  if (!token) return showSignIn();
  const name = currentPage();
  const who = principalOf(token);
  document.getElementById("who").textContent = `Signed in as ${who.label}`;
  document.getElementById("signout").hidden = false;
  nav.hidden = false;
  menu.hidden = false;
  drawNav(name);
  const controller = new AbortController();
  let cleanup = null;
  leave = () => { controller.abort(); if (cleanup) cleanup(); };
  const label = PAGES.find(([p]) => p === name)[1];
  document.title = `${label} · bkg-db admin`;
  clear(main, h("h1", {}, label));
  const body = h("div", { class: "page", id: `page-${name}` });
  main.append(body);
  try {
    const module = await import(`./pages/${name}.js`);
    if (controller.signal.aborted) return;
    cleanup = (await module.render(body, { token, who, signal: controller.signal })) || null;
    if (controller.signal.aborted && cleanup) cleanup(); // left while it was rendering
  } catch (err) {
    if (!controller.signal.aborted) body.append(errorBox(err));
  }
}

function showSignIn() {
  nav.hidden = true;
  menu.hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("signout").hidden = true;
  document.title = "Sign in · bkg-db admin";
  const input = h("input", { type: "password", name: "token", autocomplete: "off", spellcheck: "false", required: true, placeholder: "bkg_admin_… or eyJ…" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "signin panel", onsubmit: (ev) => { ev.preventDefault(); signIn(input.value.trim(), status); } },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API key (admin or namespace scope) or a JWT. It is kept in this tab's session storage only, sent in the Authorization header, and forgotten when the tab closes."),
    field("API key or JWT", input),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    status);
  clear(main, form);
  input.focus();
}

async function signIn(token, status) {
  clear(status, h("p", { class: "notice" }, "Checking the token…"));
  if (!token) return clear(status, h("div", { class: "error", role: "alert" }, "Enter an API key or a JWT."));
  try {
    await api.get("/schema", { token });
  } catch (err) {
    return clear(status, h("div", { class: "error", role: "alert" }, `Sign-in refused. ${describe(err)}`));
  }
  setToken(token);
  if (location.hash) showPage();
  else location.hash = "#/overview"; // hashchange shows the page
}

function signOut() {
  stopPage();
  clearToken();
  showSignIn();
}

// The skip link must not change the fragment: that would navigate to another page.
document.querySelector(".skip").addEventListener("click", (ev) => {
  ev.preventDefault();
  main.focus();
});
document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("bkgdb:signout", signOut);
window.addEventListener("hashchange", () => {
  nav.classList.remove("open");
  menu.setAttribute("aria-expanded", "false");
  showPage().then(() => main.focus({ preventScroll: true }));
});
menu.addEventListener("click", () => {
  const open = nav.classList.toggle("open");
  menu.setAttribute("aria-expanded", String(open));
});
showPage();
