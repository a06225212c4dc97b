// Step-area charts of the day (booths in session, queue length) drawn as inline SVG.

const NS = "http://www.w3.org/2000/svg";
const PAD = { left: 34, right: 12, top: 12, bottom: 24 };

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function niceStep(max) {
  if (max <= 5) return 1;
  if (max <= 10) return 2;
  if (max <= 25) return 5;
  return Math.ceil(max / 5 / 5) * 5;
}

function hourLabel(epochS) {
  const d = new Date(epochS * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * Draws `values` (one per `at` point, each a peak over `stepS`) into `host` as a step area.
 * options: {color, yMax, label}. Redraws from scratch; cheap for ≤ 1500 points.
 */
export function drawStepChart(host, at, values, { color, yMax = 0, label = "" } = {}) {
  const width = Math.max(240, Math.floor(host.clientWidth || 480));
  const height = Math.max(120, Math.floor(host.clientHeight || 150));
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": label,
    class: "chart-svg",
  });
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const peak = values.length ? Math.max(...values) : 0;
  const top = Math.max(1, yMax, peak);
  const step = niceStep(top);
  const yTop = Math.ceil(top / step) * step;
  const t0 = at.length ? at[0] : 0;
  const stepS = at.length > 1 ? at[1] - at[0] : 60;
  const t1 = at.length ? at[at.length - 1] + stepS : t0 + 3600;
  const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * plotW;
  const y = (v) => PAD.top + plotH - (v / yTop) * plotH;

  for (let v = 0; v <= yTop; v += step) {
    root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: "chart-grid" }));
    const text = svg("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "chart-axis" });
    text.textContent = String(v);
    root.append(text);
  }
  const span = t1 - t0;
  const hour = 3600;
  const every = span > 12 * hour ? 3 * hour : span > 6 * hour ? 2 * hour : span > 3 * hour ? hour : 30 * 60;
  const firstTick = Math.ceil(t0 / every) * every;
  for (let t = firstTick; t <= t1; t += every) {
    const tx = x(t);
    root.append(svg("line", { x1: tx, x2: tx, y1: PAD.top + plotH, y2: PAD.top + plotH + 4, class: "chart-tick" }));
    const text = svg("text", { x: tx, y: height - 6, "text-anchor": "middle", class: "chart-axis" });
    text.textContent = hourLabel(t);
    root.append(text);
  }
  if (values.length) {
    let d = `M ${x(t0)} ${y(0)}`;
    for (let i = 0; i < values.length; i += 1) {
      const left = x(at[i]);
      const right = x(at[i] + stepS);
      d += ` L ${left} ${y(values[i])} L ${right} ${y(values[i])}`;
    }
    const area = `${d} L ${x(t1)} ${y(0)} Z`;
    root.append(svg("path", { d: area, fill: color, "fill-opacity": 0.22, stroke: "none" }));
    let line = "";
    for (let i = 0; i < values.length; i += 1) {
      const left = x(at[i]);
      const right = x(at[i] + stepS);
      line += `${i === 0 ? "M" : " L"} ${left} ${y(values[i])} L ${right} ${y(values[i])}`;
    }
    root.append(svg("path", { d: line, fill: "none", stroke: color, "stroke-width": 2, "stroke-linejoin": "round" }));
    const lastX = x(at[at.length - 1] + stepS);
    root.append(svg("circle", { cx: lastX, cy: y(values[values.length - 1]), r: 3.5, fill: color }));
  }
  root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(0), y2: y(0), class: "chart-base" }));
  host.replaceChildren(root);
  return { peak };
}
