// Small DOM helpers. Server-provided text only ever reaches the page as text nodes or
// attribute values, never as HTML.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "muted", "selected"]);

/** Build an element: props are attributes, `text`, `class`, `testid`, `dataset`, `on<event>`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "testid") node.dataset.testid = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (PROPERTIES.has(key)) node[key] = value;
    else if (value === false) continue;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** A labelled form control: the label's text above the control. */
export function field(text, control) {
  return el("label", { class: "field", for: control.id }, el("span", { text }), control);
}

/** Replace everything inside `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Page-wide events: "videos-changed", "characters-changed", "job-settled". */
export const bus = new EventTarget();

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

/** The in-page path of a character: what its permalink points at. */
export function characterPath(username) {
  return `/characters/${encodeURIComponent(username)}`;
}

/** A link that the page follows itself (see app.js) rather than reloading. */
export function routeLink(path, props = {}, ...children) {
  return el("a", { href: path, "data-route": true, ...props }, ...children);
}

/** A time: hours and minutes when it is today, else the date as well. */
export function when(unixSeconds) {
  if (!unixSeconds) return "";
  const date = new Date(unixSeconds * 1000);
  const today = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${date.toLocaleDateString()} ${time}`;
}

export function percent(fraction) {
  return `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
}

/** Seconds with at most two decimals and no trailing zeros: 1, 1.5, 2.25. */
export function seconds(value) {
  return String(Math.round(value * 100) / 100);
}

/** An http(s) URL, or null: anything else (javascript:, data:) never becomes a link. */
export function safeHttpUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A horizontal bar for a 0-1 value, with its percentage as text. */
export function meter(fraction, testid) {
  const bar = el("span", { class: "meter-fill" });
  bar.style.width = percent(fraction ?? 0);
  return el(
    "span",
    { class: "meter", testid },
    el("span", { class: "meter-track" }, bar),
    el("span", { class: "meter-text", text: fraction == null ? "n/a" : percent(fraction) }),
  );
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
