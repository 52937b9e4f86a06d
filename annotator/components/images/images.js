// The camera strips in this browser (a Streamlit components-v2 module, no build step).
//
// 1. The image size chosen in the sidebar is kept in a cookie (mount data {size}), which
//    the server reads on the first run of the next session: a reload shows that size at
//    once. Nothing else is stored; the cookie is only ever sent to this app's host.
// 2. A click on a strip image enlarges it in place (its container gets the class
//    "paenet-enlarged": the whole camera column's width); a second click, or Escape,
//    shrinks it. Another identity (mount data {pid}) starts with every image small.

const STRIP = ".st-key-image-strip";
const ENLARGED = "paenet-enlarged";
const YEAR = 365 * 24 * 3600;

const G = (globalThis.__paenetImages ??= { installed: false, pid: null });

function shrinkAll(except) {
  for (const el of document.querySelectorAll(`${STRIP} .${ENLARGED}`)) {
    if (el !== except) el.classList.remove(ENLARGED);
  }
}

function onClick(event) {
  const img = event.target;
  if (!(img instanceof HTMLImageElement)) return;
  const box = img.closest('[data-testid="stImageContainer"]');
  if (!box || !box.closest(STRIP)) return;
  shrinkAll(box);
  box.classList.toggle(ENLARGED);
}

function onKey(event) {
  if (event.key === "Escape" && document.querySelector(`${STRIP} .${ENLARGED}`)) shrinkAll(null);
}

function remember(name, size) {
  const wanted = `${name}=${encodeURIComponent(size)}`;
  if (document.cookie.split("; ").includes(wanted)) return;
  document.cookie = `${wanted}; path=/; max-age=${YEAR}; SameSite=Strict`;
}

export default function (component) {
  const data = component.data || {};
  if (data.size && data.cookie) remember(data.cookie, data.size);
  if (data.pid !== G.pid) {
    shrinkAll(null);
    G.pid = data.pid;
  }
  if (!G.installed) {
    document.addEventListener("click", onClick, true);
    window.addEventListener("keydown", onKey, true);
    G.installed = true;
  }
  return () => {};
}
