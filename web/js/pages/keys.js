// Users & keys: API keys (never their secrets, except once at creation or rotation),
// create, revoke, rotate; and minting a user token for an application's user id.
// An anon key is publishable (Supabase's anon key): it may ship in a browser or an app, and
// what it reaches is decided by row-level security policies for the role anon.

import { api, describe, getToken } from "../api.js";
import { clear, errorBox, field, h, listTable, notice, pagedList, panel, toast, when } from "../dom.js";

export async function render(root, { who }) {
  if (who.kind === "user") {
    root.append(notice("A user token cannot see or manage API keys. Sign in with an admin or namespace key."));
    return null;
  }
  const listBox = h("div", { "aria-live": "polite" });
  const secretBox = h("div", { "aria-live": "polite", id: "secret" });
  const reload = () => drawList(listBox, secretBox, reload);
  root.append(secretBox, panel("API keys", listBox), h("div", { class: "grid" },
    panel("Create an API key", createForm(secretBox, reload)),
    panel("Mint a user token", tokenForm())));
  await reload();
  return null;
}

function state(k) {
  if (k.revoked_at) return ["revoked", "off"];
  if (k.rotated_to) return [k.active ? `rotated (old key works until ${when(k.grace_until)})` : "rotated", k.active ? "" : "off"];
  if (!k.active) return ["expired", "off"];
  return ["active", "on"];
}

async function drawList(box, secretBox, reload) {
  let keys;
  try {
    keys = (await api.get("/auth/keys")).keys;
  } catch (err) {
    return clear(box, errorBox(err));
  }
  if (!keys.length) return clear(box, notice("No keys."));
  keys.reverse();
  const lastUse = keys.some((k) => "last_used_at" in k);
  const mine = getToken() || "";
  const columns = ["prefix", "name", "scope", "namespace", "created (UTC)", "expires (UTC)", lastUse ? "last use" : null, "state", "actions"].filter(Boolean);
  clear(box, lastUse ? null : h("p", { class: "meta" }, "This server does not record when a key was last used."), pagedList(keys, 15, (items) => listTable(columns, items.map((k) => {
      const [label, cls] = state(k);
      return h("tr", { "data-key": k.id },
        h("td", { class: "mono" }, `${k.prefix}…`), h("td", {}, k.name ?? "—"), h("td", {}, k.scope, k.scope === "anon" ? h("span", { class: "badge", title: "Safe to ship in a client: row-level security applies with role anon" }, "publishable") : null),
        h("td", {}, k.namespace ?? "all"), h("td", {}, when(k.created_at)), h("td", {}, k.expires_at ? when(k.expires_at) : "never"),
        lastUse ? h("td", {}, when(k.last_used_at)) : null,
        h("td", {}, h("span", { class: `badge ${cls}` }, label), mine.startsWith(k.prefix) ? h("span", { class: "badge" }, "this session") : null),
        h("td", { class: "actions" }, k.revoked_at ? null : [
          confirmButton(`Revoke key ${k.prefix}`, "Revoke", async () => {
            await api.del(`/auth/keys/${encodeURIComponent(k.id)}`);
            toast(`Key ${k.prefix}… revoked`);
          }, box, reload),
          " ",
          k.rotated_to ? null : confirmButton(`Rotate key ${k.prefix}`, "Rotate", async () => {
            const created = await api.post(`/auth/keys/${encodeURIComponent(k.id)}/rotate`, {});
            showSecret(secretBox, created, `Key ${k.prefix}… rotated. The old key keeps working until ${when(created.old_key_valid_until)}.`);
          }, box, reload),
        ]));
  }), "key list"), "keys"));
}

// A button that asks for a second press before acting (no modal dialogs).
function confirmButton(label, text, action, box, reload) {
  let armed = false;
  const button = h("button", { type: "button", class: "danger", "aria-label": label }, text);
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = `Confirm ${text.toLowerCase()}`;
      button.setAttribute("aria-label", `Confirm: ${label}`);
      return;
    }
    button.disabled = true;
    try {
      await action();
      await reload();
    } catch (err) {
      box.prepend(errorBox(err));
      button.disabled = false;
    }
  });
  button.addEventListener("blur", () => {
    if (!armed || button.disabled) return;
    armed = false;
    button.textContent = text;
    button.setAttribute("aria-label", label);
  });
  return button;
}

// The plaintext key, once, with a copy button.
function showSecret(box, created, message) {
  const code = h("code", { id: "new-key" }, created.key);
  const copy = h("button", { type: "button", onclick: async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      toast("Key copied to the clipboard");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      toast("Copying was refused by the browser: the key is selected, press Ctrl+C");
    }
  } }, "Copy");
  clear(box, panel("New key — shown only once", h("p", {}, message),
    h("div", { class: "secret" }, code, copy),
    h("p", { class: "meta" }, "Store it now: the server keeps only its hash. Leaving this page forgets it."),
    h("button", { type: "button", onclick: () => clear(box) }, "Done")));
  copy.focus();
}

const SCOPE_HINTS = {
  namespace: "Full access inside one namespace, bypassing row-level security (Supabase's service_role). Keep it on servers.",
  anon: "Publishable: safe in a browser or an app. Requests with it are subject to row-level security with role anon.",
  admin: "Everything, everywhere. Keep it on servers you trust.",
};

function createForm(secretBox, reload) {
  const scope = h("select", { name: "scope" }, h("option", { value: "namespace" }, "namespace"),
    h("option", { value: "anon" }, "anon (publishable)"), h("option", { value: "admin" }, "admin"));
  const namespace = h("input", { name: "namespace", value: "public", autocomplete: "off" });
  const name = h("input", { name: "key-name", autocomplete: "off", placeholder: "billing service" });
  const days = h("input", { name: "ttl-days", type: "number", min: "1", step: "1", placeholder: "never expires", class: "narrow" });
  const status = h("div", { "aria-live": "polite" });
  const nsField = field("Namespace", namespace);
  const hint = h("p", { class: "meta", id: "scope-hint" });
  const explain = () => {
    nsField.hidden = scope.value === "admin";
    hint.textContent = SCOPE_HINTS[scope.value];
  };
  scope.addEventListener("change", explain);
  explain();
  return h("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { scope: scope.value, name: name.value.trim() || null };
    if (scope.value !== "admin") body.namespace = namespace.value.trim();
    if (days.value) body.ttl_seconds = Math.round(Number(days.value) * 86400);
    try {
      const created = await api.post("/auth/keys", body);
      clear(status);
      showSecret(secretBox, created, `Key ${created.prefix}… created (${created.scope}${created.namespace ? ` in ${created.namespace}` : ""}).`);
      await reload();
    } catch (err) {
      clear(status, h("div", { class: "error", role: "alert" }, `Not created. ${describe(err)}`));
    }
  } }, field("Scope", scope), hint, nsField, field("Name", name), field("Expires after (days)", days),
  h("button", { type: "submit", class: "primary" }, "Create key"), status);
}

// Users are not stored by bkg-db: they are JWT subjects. This mints a token for one.
function tokenForm() {
  const sub = h("input", { name: "token-sub", autocomplete: "off", required: true, placeholder: "user id" });
  const ns = h("input", { name: "token-ns", autocomplete: "off", value: "public" });
  const out = h("div", { "aria-live": "polite" });
  return h("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const minted = await api.post("/auth/token", { sub: sub.value.trim(), ns: ns.value.trim() || null, ttl_seconds: 3600 });
      clear(out, h("div", { class: "secret" }, h("code", {}, minted.access_token)),
        h("p", { class: "meta" }, `Valid for ${Math.round(minted.expires_in / 60)} minutes. Users are the subjects of such tokens; bkg-db keeps no user list.`));
    } catch (err) {
      clear(out, errorBox(err));
    }
  } }, h("p", { class: "meta" }, "Users are identified by the sub of a JWT your application's backend mints."),
  h("div", { class: "row" }, field("User id (sub)", sub), field("Namespace", ns), h("button", { type: "submit" }, "Mint token")), out);
}
