// Migrations: the ledger of applied migration files (GET /migrate/status), newest first.
// Files are applied with `bkgdb migrate up` (docs/migrations.md); this page only lists them.

import { api } from "../api.js";
import { errorBox, h, listTable, notice, panel, when } from "../dom.js";

export async function render(root, { who, signal }) {
  if (who.kind !== "admin") {
    root.append(notice("Only an admin sees the applied migrations. Sign in with an admin key."));
    return null;
  }
  let ledger;
  try {
    ledger = await api.get("/migrate/status", { signal });
  } catch (err) {
    root.append(errorBox(err));
    return null;
  }
  const rows = [...ledger.applied].reverse().map((m) => h("tr", { "data-migration": m.filename },
    h("td", {}, String(m.version)),
    h("td", {}, h("code", {}, m.filename)),
    h("td", {}, String(m.lsn)),
    h("td", {}, when(m.applied_at_us / 1e6)),
    h("td", {}, m.actor),
    h("td", {}, h("code", { title: m.sha256 }, m.sha256.slice(0, 12) + "…"))));
  root.append(panel("Applied migrations",
    rows.length
      ? listTable(["Version", "File", "LSN", "Applied", "By", "SHA-256"], rows, "Applied migrations")
      : notice("No migration applied yet. Apply files with bkgdb migrate up (see docs/migrations.md)."),
    h("p", { class: "meta" }, `Read at LSN ${ledger.lsn}.`)));
  return null;
}
