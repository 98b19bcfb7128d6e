// A step chart in SVG: one line per series over days, with axes, labels and a legend.

import { h, s, uid } from "./dom.js";

const MARGIN = { top: 16, right: 16, bottom: 52, left: 60 };
const HEIGHT = 280;

/** A round step for about ``count`` intervals up to ``max``: 1, 2, 2.5 or 5 times a power of 10. */
function niceStep(max, count = 4) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= raw) return step * power;
  }
  return 10 * power;
}

/** The y axis: from 0 to a round value above ``max``, and its ticks. */
function scale(max) {
  const step = niceStep(max > 0 ? max * 1.08 : 1);
  const top = Math.max(step, Math.ceil((max * 1.08) / step) * step);
  const ticks = [];
  for (let value = 0; value <= top + step / 2; value += step) ticks.push(value);
  return { top, ticks, step };
}

/** The path of a step line: each value holds over its day's band; gaps where null. */
function stepPath(values, x, y) {
  let d = "";
  let open = false;
  values.forEach((value, i) => {
    if (value === null || value === undefined || Number.isNaN(value)) {
      open = false;
      return;
    }
    const yv = y(value).toFixed(1);
    d += open ? ` V${yv} H${x(i + 1).toFixed(1)}` : ` M${x(i).toFixed(1)},${yv} H${x(i + 1).toFixed(1)}`;
    open = true;
  });
  return d.trim();
}

/**
 * ``days``: labels of the x axis (one band each); ``series``: [{name, values, className}];
 * ``yLabel``, ``xLabel``: axis titles; ``format``: a y value as text. Returns an <svg>.
 */
export function stepChart({ days, series, yLabel, xLabel, format, width = 640, title, description }) {
  const w = Math.max(280, Math.round(width));
  const inner = { w: w - MARGIN.left - MARGIN.right, h: HEIGHT - MARGIN.top - MARGIN.bottom };
  const all = series
    .flatMap((one) => one.values)
    .filter((v) => v !== null && v !== undefined && !Number.isNaN(v));
  const { top, ticks, step } = scale(Math.max(0, ...all));
  const bands = Math.max(days.length, 1);
  const x = (i) => MARGIN.left + (inner.w * i) / bands;
  const y = (v) => MARGIN.top + inner.h - (inner.h * v) / top;
  const titleId = uid("chart-title");
  const descId = uid("chart-desc");
  const svg = s(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${w} ${HEIGHT}`,
      width: w,
      height: HEIGHT,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
    },
    s("title", { id: titleId }, title),
    s("desc", { id: descId }, description),
  );
  const grid = s("g", { class: "grid" });
  for (const value of ticks) {
    grid.append(
      s("line", { x1: MARGIN.left, x2: MARGIN.left + inner.w, y1: y(value), y2: y(value) }),
      s(
        "text",
        { x: MARGIN.left - 8, y: y(value) + 4, "text-anchor": "end", class: "tick" },
        format(value, step),
      ),
    );
  }
  svg.append(grid);
  const every = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor(inner.w / 90))));
  const xAxis = s(
    "g",
    { class: "axis" },
    s("line", { x1: MARGIN.left, x2: MARGIN.left + inner.w, y1: y(0), y2: y(0) }),
  );
  days.forEach((label, i) => {
    if (i % every !== 0) return;
    const mid = (x(i) + x(i + 1)) / 2;
    xAxis.append(
      s("line", { x1: x(i), x2: x(i), y1: y(0), y2: y(0) + 5 }),
      s("text", { x: mid, y: y(0) + 20, "text-anchor": "middle", class: "tick" }, label),
    );
  });
  svg.append(xAxis);
  svg.append(
    s(
      "text",
      { x: MARGIN.left + inner.w / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "axis-title" },
      xLabel,
    ),
    s(
      "text",
      {
        x: 0,
        y: 0,
        transform: `translate(14 ${MARGIN.top + inner.h / 2}) rotate(-90)`,
        "text-anchor": "middle",
        class: "axis-title",
      },
      yLabel,
    ),
  );
  for (const one of series) {
    svg.append(
      s("path", {
        d: stepPath(one.values, x, y),
        class: ["series", one.className],
        fill: "none",
        dataset: { series: one.name },
      }),
    );
  }
  return svg;
}

/** The legend: a sample of each line, with its name. */
export function legend(series) {
  return h(
    "ul",
    { class: "legend" },
    series.map((one) =>
      h(
        "li",
        {},
        s(
          "svg",
          { width: 28, height: 10, "aria-hidden": "true", focusable: "false" },
          s("line", { x1: 1, x2: 27, y1: 5, y2: 5, class: ["series", one.className] }),
        ),
        one.name,
      ),
    ),
  );
}
