// Server-sent events over fetch, so that the token travels in the Authorization header
// (EventSource can only put it in the URL, which the dashboard never does).

import { send } from "./api.js";

// Calls onEvent({id, event, data}) for each event until `signal` aborts; resumes after a
// dropped connection with Last-Event-ID. Throws ApiError if the first request is refused.
export async function subscribe(path, { onEvent, onOpen, signal }) {
  let lastId = null;
  let first = true;
  while (!signal.aborted) {
    try {
      const headers = lastId ? { "Last-Event-ID": lastId } : {};
      const response = await sendStream(path, headers, signal);
      first = false;
      if (onOpen) onOpen();
      await readEvents(response.body, (ev) => {
        if (ev.id && lastId && !after(ev.id, lastId)) return; // delivered before a reconnect
        if (ev.id) lastId = ev.id;
        onEvent(ev);
      });
    } catch (err) {
      if (signal.aborted || (err && err.name === "AbortError")) return;
      if (first) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// Whether event id "lsn.index" a comes after b (ids that are not of that form always do).
function after(a, b) {
  const [x, y] = [a, b].map((id) => id.split(".").map(Number));
  if (x.length !== 2 || y.length !== 2 || [...x, ...y].some(Number.isNaN)) return true;
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

function sendStream(path, headers, signal) {
  return send("GET", path, { accept: "text/event-stream", headers, signal });
}

async function readEvents(body, emit) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let nl;
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer[nl] === "\r" ? 2 : 1));
      if (line === "") {
        if (event.data.length) {
          emit({ id: event.id, event: event.event || "message", data: event.data.join("\n") });
        }
        event = { data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "data") event.data.push(val);
        else if (name === "id" || name === "event") event[name] = val;
      }
    }
  }
}
