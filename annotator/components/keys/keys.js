// Keyboard capture for the Annotate page (a Streamlit components-v2 module, no build step).
//
// Every shortcut pressed is queued here with a sequence number, whatever the server is
// doing. The queue goes to the server as the component's state value "queue":
//   {client, attempt, keys: [[seq, name], ...]}   (every key not acknowledged yet)
// One send at a time: the next goes when the server acknowledges through the mount data
//   {client, applied, attempt, saved, last, enabled}
// (applied = highest seq applied for this client). The server skips seqs it applied
// already, so a resend after a lost acknowledgement (3 s) applies nothing twice.
// Key names: "1".."8", "Shift+1".."Shift+8", "Left", "Right", "N", "U", "Enter".
// Alt+digit is left to the browser (some Linux browsers switch tabs with it).
// No key is taken while the focus is in a text field (name box, search box, select box).

const RESEND_MS = 3000;

// One state per browser tab: it outlives re-renders and remounts of the component.
const S = (globalThis.__paenetKeys ??= {
  client: Math.random().toString(36).slice(2) + Date.now().toString(36),
  seq: 0,
  pending: [], // [{seq, name}], oldest first, not acknowledged yet
  maxPending: 0, // the longest the queue has been (keys typed while a send was out)
  inflight: false,
  sentUpTo: 0,
  sentAt: 0,
  attempt: 0,
  send: null,
  host: null,
  enabled: false,
  saved: 0,
  last: "",
  installed: false,
});

const TEXT_INPUT_TYPES = new Set([
  "text", "search", "email", "password", "number", "tel", "url", "date",
  "datetime-local", "month", "time", "week",
]);

function typingInto(event) {
  const path = event.composedPath ? event.composedPath() : [event.target];
  for (const node of path) {
    if (!(node instanceof Element)) continue;
    if (node.isContentEditable) return true;
    const tag = node.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT" && TEXT_INPUT_TYPES.has((node.type || "text").toLowerCase())) return true;
    const role = node.getAttribute("role");
    if (role === "textbox" || role === "combobox" || role === "searchbox") return true;
  }
  return false;
}

function keyName(event) {
  if (event.ctrlKey || event.metaKey) return null;
  const digit = /^(?:Digit|Numpad)([1-8])$/.exec(event.code || "");
  if (digit) {
    if (event.altKey || event.repeat) return null;
    return event.shiftKey ? `Shift+${digit[1]}` : digit[1];
  }
  if (event.altKey || event.shiftKey) return null;
  if (event.key === "ArrowLeft") return "Left";
  if (event.key === "ArrowRight") return "Right";
  if (event.repeat) return null;
  if (event.key === "Enter") return "Enter";
  const k = (event.key || "").toLowerCase();
  if (k === "n") return "N";
  if (k === "u") return "U";
  return null;
}

function mounted() {
  const h = S.host;
  if (!h) return false;
  return h.host ? h.host.isConnected : h.isConnected; // a ShadowRoot or an element
}

function onKey(event) {
  if (!mounted() || typingInto(event)) return;
  const name = keyName(event);
  if (name === null) return;
  event.preventDefault();
  event.stopPropagation();
  S.seq += 1;
  S.pending.push({ seq: S.seq, name });
  S.maxPending = Math.max(S.maxPending, S.pending.length);
  draw();
  flush();
}

function flush() {
  if (S.inflight || !S.pending.length || !S.send) return;
  S.inflight = true;
  S.sentUpTo = S.pending[S.pending.length - 1].seq;
  S.sentAt = Date.now();
  S.attempt += 1;
  S.send("queue", {
    client: S.client,
    attempt: S.attempt,
    keys: S.pending.map((p) => [p.seq, p.name]),
  });
}

function tick() {
  if (S.inflight && Date.now() - S.sentAt > RESEND_MS) S.inflight = false;
  if (mounted()) flush();
}

function acknowledge(data) {
  if (!data || data.client !== S.client) return;
  S.pending = S.pending.filter((p) => p.seq > data.applied);
  if (data.applied >= S.sentUpTo || data.attempt >= S.attempt) S.inflight = false;
}

function draw() {
  const root = S.host;
  if (!root) return;
  let box = root.querySelector(".paenet-keys");
  if (!box) {
    box = document.createElement("div");
    box.className = "paenet-keys";
    box.setAttribute("data-testid", "paenetKeys");
    root.appendChild(box);
  }
  const queued = S.pending.map((p) => p.name).join(" ");
  const pending = S.pending.length
    ? `${S.pending.length} key(s) pending: ${queued}`
    : "no key pending";
  const off = S.enabled ? "" : " (enter your name to label)";
  box.textContent = `Keyboard: ${pending} · ${S.saved} saved${off}` +
    (S.last ? ` · last: ${S.last}` : "");
  box.dataset.pending = String(S.pending.length);
  box.dataset.saved = String(S.saved);
  box.dataset.maxPending = String(S.maxPending);
}

// Streamlit may call this once per data change and, when a call is superseded while its
// module import is pending, run that call's cleanup late and even call it after a newer
// one. So nothing here depends on cleanups, and data older than what was seen (``run``
// counts the server's renders within one ``session``) is ignored.
export default function (component) {
  const { data, setStateValue, parentElement } = component;
  S.send = setStateValue;
  S.host = parentElement; // keys are taken while this is in the document
  const fresh =
    data && (data.session !== S.session || (data.run ?? 0) >= (S.run ?? 0));
  if (fresh) {
    S.session = data.session;
    S.run = data.run ?? 0;
    S.enabled = !!data.enabled;
    if (data.client === S.client) {
      S.saved = data.saved || 0;
      S.last = data.last || "";
    }
    acknowledge(data);
  }
  if (!S.installed) {
    window.addEventListener("keydown", onKey, true);
    setInterval(tick, 500);
    S.installed = true;
  }
  draw();
  flush();
  return () => {}; // see above: liveness is the host being in the document
}
