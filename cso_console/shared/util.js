// Small DOM and formatting helpers shared by the console and the ops dashboard.

/** el("div", {class: "x", onclick: fn, dataset: {a: 1}}, child, "text") */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** 75 → "1:15", 3725 → "1:02:05" */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Server times may be epoch seconds, epoch milliseconds or ISO strings; returns ms or null. */
export function toEpochMs(value) {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "number") return value < 1e11 ? value * 1000 : value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

export function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

/** A transient notice in the page's toast area (created on first use). */
export function toast(message, kind = "info", timeoutMs = 5000) {
  let area = document.getElementById("toasts");
  if (!area) {
    area = el("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(area);
  }
  const node = el("div", { class: `toast toast-${kind}` }, message);
  area.append(node);
  while (area.children.length > 5) area.firstElementChild.remove();
  setTimeout(() => node.remove(), timeoutMs);
  return node;
}
