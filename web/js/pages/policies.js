// Policies: list, create (the server validates the predicate before anything is logged),
// delete, and a preview of the rows a chosen user id would see.

import { api, describe } from "../api.js";
import { clear, dataTable, errorBox, field, h, listTable, notice, pagedList, panel, toast } from "../dom.js";

const ACTIONS = ["select", "insert", "update", "delete"];

export async function render(root, { signal, who }) {
  if (who.kind === "user") {
    root.append(notice("A user token cannot see or manage policies. Sign in with an admin or namespace key."));
    return null;
  }
  const listBox = h("div", { "aria-live": "polite" });
  const formBox = h("div");
  const previewBox = h("div");
  root.append(panel("Policies", listBox), h("div", { class: "grid" }, panel("Create or replace a policy", formBox), panel("Preview as a user", previewBox)));
  let tables = [];
  try {
    tables = (await api.get("/schema", { signal })).tables.map((t) => t.name);
  } catch (err) {
    formBox.append(errorBox(err));
  }
  const preview = previewForm(previewBox, tables);
  const reload = async () => {
    await drawList(listBox, reload);
    preview.run(false);
  };
  formBox.append(createForm(tables, reload));
  await drawList(listBox, reload);
  return null;
}

async function drawList(box, reload) {
  let policies;
  try {
    policies = (await api.get("/policy")).policies;
  } catch (err) {
    return clear(box, errorBox(err));
  }
  if (!policies.length) return clear(box, notice("No policies. Without a policy, users see no rows of a table."));
  const namespaceOf = (p) => p.table.split(".")[0];
  const columns = ["name", "table", "actions", "roles", "using", "check", ""];
  clear(box, pagedList(policies, 20, (items) => listTable(columns, items.map((p) => h("tr", { "data-policy": p.name },
      h("td", {}, p.name), h("td", {}, p.table), h("td", {}, p.actions.join(", ")), h("td", {}, (p.roles || []).join(", ")),
      h("td", { class: "mono" }, p.using ?? "—"), h("td", { class: "mono" }, p.check ?? "—"),
      h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Delete policy ${p.name}`, onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          await api.del(`/policy/${encodeURIComponent(p.name)}?namespace=${encodeURIComponent(namespaceOf(p))}`);
          toast(`Policy ${p.name} deleted`);
          reload();
        } catch (err) {
          ev.target.disabled = false;
          box.prepend(errorBox(err));
        }
      } }, "Delete")))), "policy list"), "policies"));
}

function createForm(tables, reload) {
  const name = h("input", { name: "name", required: true, autocomplete: "off", placeholder: "own_rows" });
  const table = h("input", { name: "table", required: true, list: "policy-tables", autocomplete: "off", placeholder: "public.todos" });
  const options = h("datalist", { id: "policy-tables" }, tables.map((t) => h("option", { value: t })));
  const actions = ACTIONS.map((a) => h("input", { type: "checkbox", name: "actions", value: a, checked: a === "select" }));
  const roles = h("input", { name: "roles", value: "user", autocomplete: "off" });
  const using = h("input", { name: "using", class: "mono", autocomplete: "off", placeholder: "owner = auth.uid()" });
  const check = h("input", { name: "check", class: "mono", autocomplete: "off", placeholder: "owner = auth.uid()" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    const body = {
      name: name.value.trim(),
      table: table.value.trim(),
      actions: actions.filter((a) => a.checked).map((a) => a.value),
      roles: roles.value.split(",").map((r) => r.trim()).filter(Boolean),
      using: using.value.trim() || null,
      check: check.value.trim() || null,
    };
    clear(status, h("p", { class: "meta" }, "Validating on the server…"));
    try {
      await api.post("/policy", body);
      clear(status, h("p", { class: "ok", role: "status" }, `Policy ${body.name} saved (checked by the server, recorded in the log).`));
      reload();
    } catch (err) {
      clear(status, h("div", { class: "error", role: "alert" }, `Not saved. ${describe(err)}`));
    }
  } },
  field("Name", name), field("Table (namespace.table)", table), options,
  h("fieldset", {}, h("legend", {}, "Actions"), actions.map((a) => h("label", {}, a, " ", a.value))),
  field("Roles (comma-separated)", roles),
  field("Using — rows the policy lets users read, update or delete", using, "SQL predicate; may call auth.uid() and auth.jwt() ->> 'claim'"),
  field("Check — rows users may write", check),
  h("button", { type: "submit", class: "primary" }, "Save policy"),
  status);
  return form;
}

// Mint a short-lived user token for `sub` (POST /auth/token with this session's key) and
// read the table as that user: exactly what the policies let them see.
function previewForm(box, tables) {
  const sub = h("input", { name: "sub", autocomplete: "off", placeholder: "user id (JWT sub)" });
  const table = h("select", { name: "preview-table" }, tables.map((t) => h("option", { value: t }, t)));
  const out = h("div", { "aria-live": "polite", id: "preview-output" });
  const run = async (explicit = true) => {
    if (!sub.value.trim() || !table.value) {
      if (explicit) clear(out, h("div", { class: "error", role: "alert" }, "Choose a user id and a table."));
      return;
    }
    const [ns] = table.value.split(".");
    try {
      const minted = await api.post("/auth/token", { sub: sub.value.trim(), ns, ttl_seconds: 300 });
      const result = await api.query(`SELECT * FROM ${table.value} LIMIT 100`, {}, { token: minted.access_token });
      clear(out, h("p", { class: "meta", "data-visible-rows": result.rows.length },
        `User ${sub.value.trim()} sees ${result.rows.length} row${result.rows.length === 1 ? "" : "s"} of ${table.value} (at LSN ${result.lsn}${result.rows.length === 100 ? ", first 100" : ""}).`),
      result.rows.length ? dataTable(result.columns, result.rows, {}, "rows visible to the user") : null);
    } catch (err) {
      clear(out, errorBox(err));
    }
  };
  if (!tables.length) {
    box.append(notice("No tables yet."));
    return { run: () => {} };
  }
  box.append(h("form", { onsubmit: (ev) => { ev.preventDefault(); run(); } },
    h("p", { class: "meta" }, "Mints a five-minute user token for the id (needs an admin or namespace key) and reads the table with it."),
    h("div", { class: "row" }, field("User id", sub), field("Table", table), h("button", { type: "submit" }, "Preview"))), out);
  return { run };
}
