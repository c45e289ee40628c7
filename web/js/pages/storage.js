// Storage: buckets and objects, upload, download and presigned links over /storage/...
// Servers without object storage get a plain "not available" message.

import { api, ApiError, describe, send } from "../api.js";
import { bytes, clear, errorBox, field, h, listTable, notice, panel, toast, when } from "../dom.js";

export async function render(root, { signal }) {
  const bucketsBox = h("div", { "aria-live": "polite" });
  const objectsBox = h("div");
  root.append(h("div", { class: "split" }, panel("Buckets", bucketsBox), objectsBox));
  let buckets;
  try {
    const answer = await api.get("/storage/buckets", { signal });
    buckets = Array.isArray(answer) ? answer : answer.buckets || [];
  } catch (err) {
    clear(bucketsBox, err instanceof ApiError && err.unavailable
      ? notice("Object storage is not available on this server: it does not offer /storage yet.")
      : errorBox(err));
    return null;
  }
  const reload = () => render(clear(root), { signal });
  const name = h("input", { name: "bucket", required: true, autocomplete: "off" });
  const pub = h("input", { type: "checkbox", name: "public" });
  const create = h("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api.post("/storage/buckets", { name: name.value.trim(), public: pub.checked });
      reload();
    } catch (err) {
      create.append(errorBox(err));
    }
  } }, h("h3", {}, "Create a bucket"), field("New bucket", name), h("label", {}, pub, " public"), " ", h("button", { type: "submit" }, "Create"));
  clear(bucketsBox, buckets.length ? h("ul", { class: "list" }, buckets.map((b) => {
    const bname = typeof b === "string" ? b : b.name;
    const button = h("button", { type: "button", "aria-pressed": "false", onclick: () => {
      for (const other of bucketsBox.querySelectorAll("button[aria-pressed]")) other.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-pressed", "true");
      showBucket(objectsBox, bname);
    } }, bname, b.public ? " (public)" : "");
    return h("li", {}, button);
  })) : notice("No buckets."), create);
  return null;
}

function updated(o) {
  const us = o.updated_at_us ?? o.updated_us;
  if (us) return when(us / 1e6);
  return o.updated_at ? when(o.updated_at) : "—";
}

function objectPath(bucket, key) {
  return `/storage/objects/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

async function showBucket(box, bucket, cursor = null) {
  const params = new URLSearchParams({ prefix: "" });
  if (cursor) params.set("cursor", cursor);
  let answer;
  try {
    answer = await api.get(`/storage/objects/${encodeURIComponent(bucket)}?${params}`);
  } catch (err) {
    return clear(box, panel(`Bucket ${bucket}`, errorBox(err)));
  }
  const objects = Array.isArray(answer) ? answer : answer.objects || [];
  const next = answer.next_cursor ?? answer.cursor ?? null;
  const links = h("div", { "aria-live": "polite" });
  const rows = objects.map((o) => h("tr", {},
    h("td", {}, o.name), h("td", { class: "v-num" }, bytes(o.size)), h("td", {}, o.content_type ?? "—"), h("td", {}, updated(o)),
    h("td", {},
      h("button", { type: "button", onclick: () => download(bucket, o.name).catch((e) => links.append(errorBox(e))) }, "Download"), " ",
      h("button", { type: "button", onclick: () => presign(bucket, o.name, links) }, "Link"), " ",
      h("button", { type: "button", class: "danger", onclick: async () => {
        try { await api.del(objectPath(bucket, o.name)); showBucket(box, bucket); } catch (e) { links.append(errorBox(e)); }
      } }, "Delete"))));
  const file = h("input", { type: "file", name: "file" });
  const upload = h("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    try {
      await send("PUT", objectPath(bucket, chosen.name), { rawBody: chosen, contentType: chosen.type || "application/octet-stream" });
      toast(`${chosen.name} uploaded`);
      showBucket(box, bucket);
    } catch (err) {
      upload.append(errorBox(err));
    }
  } }, field("Upload a file", file), h("button", { type: "submit" }, "Upload"));
  clear(box, panel(`Bucket ${bucket}`,
    objects.length ? listTable(["name", "size", "type", "updated (UTC)", ""], rows, `objects in ${bucket}`) : notice("No objects."),
    next ? h("button", { type: "button", onclick: () => showBucket(box, bucket, next) }, "Next page ›") : null,
    links, upload));
}

async function download(bucket, key) {
  const response = await send("GET", objectPath(bucket, key), { accept: "*/*" });
  const url = URL.createObjectURL(await response.blob());
  const a = h("a", { href: url, download: key.split("/").pop() });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function presign(bucket, key, box) {
  try {
    const path = `/storage/sign/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const signed = await api.post(path, { expires_in: 3600, method: "GET" });
    clear(box, h("p", {}, "Presigned link (1 hour): ", h("code", {}, new URL(signed.url, location.origin).href)));
  } catch (err) {
    clear(box, h("div", { class: "error", role: "alert" }, describe(err)));
  }
}
