// Small hand-written SVG charts: stacked bars per minute (with an optional negative stack below the
// axis) and lines. No library: a few dozen lines draw what the dashboard needs, with no build step
// and nothing to download (README: Dashboard).

const SVG = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

const PAD = { left: 30, right: 6, top: 8, bottom: 16 };

/** A "nice" upper bound for an axis: 1, 2, 5 × 10^n at least `v`. */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v);
}

/** Clears the chart and sizes its coordinate system to its box; returns the plot area. */
function frame(svg) {
  const w = Math.max(120, svg.clientWidth || svg.parentElement?.clientWidth || 240);
  const h = Math.max(60, svg.clientHeight || 110);
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.replaceChildren();
  return { w, h, x0: PAD.left, x1: w - PAD.right, y0: PAD.top, y1: h - PAD.bottom };
}

function xAxis(svg, f, labels) {
  el('line', { class: 'axis', x1: f.x0, x2: f.x1, y1: f.y1, y2: f.y1 }, svg);
  el('text', { class: 'tick', x: f.x0, y: f.h - 3, 'text-anchor': 'start' }, svg).textContent = labels[0];
  el('text', { class: 'tick', x: f.x1, y: f.h - 3, 'text-anchor': 'end' }, svg).textContent = labels[1];
}

function yTick(svg, f, y, text) {
  el('line', { class: 'grid', x1: f.x0, x2: f.x1, y1: y, y2: y }, svg);
  el('text', { class: 'tick', x: f.x0 - 4, y: y + 3, 'text-anchor': 'end' }, svg).textContent = text;
}

/** Greys out the minutes the page has no data for (before it opened, or before a capped replay). */
function uncovered(svg, f, bins, step) {
  const n = bins.findIndex((b) => b.covered);
  const k = n < 0 ? bins.length : n;
  if (k > 0) el('rect', { class: 'no-data', x: f.x0, y: f.y0, width: step * k, height: f.y1 - f.y0 }, svg);
}

/**
 * Stacked bars per bin. `up`: [{key, colour, value(bin)}] above the axis; `down` (optional) the same
 * below it. `xLabels`: [first, last].
 */
export function stackedBars(svg, bins, { up, down = [], xLabels }) {
  const f = frame(svg);
  const total = (b, stacks) => stacks.reduce((a, s) => a + s.value(b), 0);
  const maxUp = niceMax(Math.max(0, ...bins.map((b) => total(b, up))));
  const maxDown = down.length ? Math.max(0, ...bins.map((b) => total(b, down))) : 0;
  const downMax = maxDown > 0 ? niceMax(maxDown) : 0;
  const span = maxUp + downMax;
  const zero = f.y0 + (f.y1 - f.y0) * (maxUp / span);
  const scale = (f.y1 - f.y0) / span;
  const step = (f.x1 - f.x0) / bins.length;
  uncovered(svg, f, bins, step);
  yTick(svg, f, f.y0, String(maxUp));
  if (downMax) yTick(svg, f, f.y1, `−${downMax}`);
  bins.forEach((b, i) => {
    const x = f.x0 + i * step + step * 0.12,
      w = step * 0.76;
    let y = zero;
    for (const s of up) {
      const v = s.value(b);
      if (!v) continue;
      y -= v * scale;
      el('rect', { x, y, width: w, height: v * scale, fill: s.colour, 'data-key': s.key }, svg);
    }
    y = zero;
    for (const s of down) {
      const v = s.value(b);
      if (!v) continue;
      el('rect', { x, y, width: w, height: v * scale, fill: s.colour, 'data-key': s.key, class: 'down' }, svg);
      y += v * scale;
    }
  });
  el('line', { class: 'axis', x1: f.x0, x2: f.x1, y1: zero, y2: zero }, svg);
  xAxis(svg, { ...f, y1: f.y1 }, xLabels);
}

/** Lines over the bins: [{key, colour, value(bin) → number | undefined}]; a gap where a value is undefined. `format` labels the y axis. */
export function lines(svg, bins, { series, xLabels, format = String, area = false }) {
  const f = frame(svg);
  const max = niceMax(Math.max(0, ...bins.flatMap((b) => series.map((s) => s.value(b) ?? 0))));
  const step = (f.x1 - f.x0) / bins.length;
  uncovered(svg, f, bins, step);
  yTick(svg, f, f.y0, format(max));
  const y = (v) => f.y1 - (f.y1 - f.y0) * (v / max);
  for (const s of series) {
    let d = '',
      open = false,
      first,
      last;
    bins.forEach((b, i) => {
      const v = s.value(b);
      if (v === undefined) {
        open = false;
        return;
      }
      const x = f.x0 + (i + 0.5) * step;
      d += `${open ? 'L' : 'M'}${x.toFixed(1)} ${y(v).toFixed(1)}`;
      open = true;
      first ??= x;
      last = x;
    });
    if (!d) continue;
    if (area && first !== undefined) el('path', { class: 'area', d: `${d}L${last} ${f.y1}L${first} ${f.y1}Z`, fill: s.colour }, svg);
    el('path', { class: 'line', d, stroke: s.colour, 'data-key': s.key }, svg);
    bins.forEach((b, i) => {
      const v = s.value(b);
      if (v !== undefined) el('circle', { class: 'point', cx: f.x0 + (i + 0.5) * step, cy: y(v), r: 2.2, fill: s.colour }, svg);
    });
  }
  el('line', { class: 'axis', x1: f.x0, x2: f.x1, y1: f.y1, y2: f.y1 }, svg);
  xAxis(svg, f, xLabels);
}

/** A legend: [{label, colour}] as swatches. */
export function legend(ul, items) {
  ul.replaceChildren(
    ...items.map(({ label, colour }) => {
      const li = document.createElement('li');
      const i = document.createElement('i');
      i.style.background = colour;
      li.append(i, label);
      return li;
    }),
  );
}
