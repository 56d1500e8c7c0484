// Building the page's elements. Text is only ever set as text (textContent or text nodes): what a
// document contains never becomes markup.

export const $ = (id) => document.getElementById(id);

// An element with attributes ("className", "text" for its text, others as attributes; null,
// undefined and false are left out) and children (strings become text nodes).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// Sets an element's text, leaving it untouched when unchanged (a live region then stays quiet).
export function setText(id, text) {
  const node = $(id);
  if (node.textContent !== text) node.textContent = text;
}

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}
