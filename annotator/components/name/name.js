// The annotator's name in this browser (a Streamlit components-v2 module, no build step).
//
// 1. The signed name is kept in localStorage, so a reload (a new server session) signs
//    in again: mount data {name, forget}; a name is stored, forget removes it; with no
//    name, the stored one goes to the server once as the state value "stored".
//    Browser storage, not the URL: a URL is copied into links that other people open,
//    and they would sign as the sender.
// 2. Enter or Tab in the name box leaves the box (the value is committed first), so the
//    next key (1, 2 …) labels on Annotate instead of being typed into the name.

const STORE_KEY = "paenet.annotator";
const BOX = ".st-key-_annotator_input";

const G = (globalThis.__paenetName ??= { installed: false, offered: "", signed: null });

function nameBox(event) {
  const path = event.composedPath ? event.composedPath() : [event.target];
  for (const node of path) {
    if (node instanceof Element && node.matches(BOX)) return true;
  }
  return false;
}

function leaveNameBox(event) {
  if (event.key !== "Enter" && event.key !== "Tab") return;
  if (event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return;
  if (!nameBox(event)) return;
  const input = event.target;
  if (event.key === "Tab") event.preventDefault(); // the next control is a select box
  // after Streamlit's own handler has committed the value (Enter) or on blur (Tab)
  setTimeout(() => input.blur && input.blur(), 0);
}

export default function (component) {
  const { data, setStateValue } = component;
  const name = (data && data.name) || "";
  try {
    if (name) {
      localStorage.setItem(STORE_KEY, name);
    } else if (data && data.forget) {
      localStorage.removeItem(STORE_KEY);
    } else {
      const stored = localStorage.getItem(STORE_KEY) || "";
      if (stored && G.offered !== stored) {
        G.offered = stored;
        setStateValue("stored", stored);
      }
    }
  } catch (e) {
    // storage switched off: the name lasts as long as this tab's session
  }
  // A name just signed while the box still has the focus (Enter pressed before this
  // module had loaded and installed the listener below, also on its very first render):
  // leave the box now.
  if (name && name !== G.signed) {
    const active = document.activeElement;
    if (active && active.closest && active.closest(BOX)) active.blur();
  }
  G.signed = name;
  if (!G.installed) {
    window.addEventListener("keydown", leaveNameBox, true);
    G.installed = true;
  }
  return () => {};
}
