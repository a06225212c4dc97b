// Inline SVG icons (drawn in this project, no icon font or third-party set): each page keeps
// its own set of 24×24 stroke paths and draws them with svgIcon().

export function svgIcon(paths, name, extraClass = "") {
  const span = document.createElement("span");
  span.className = `icon ${extraClass}`.trim();
  span.setAttribute("aria-hidden", "true");
  span.innerHTML = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${paths[name] || ""}</svg>`;
  return span;
}
