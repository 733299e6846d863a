// The store plan in SVG: departments, doors, the dwell heat map, and a dot per shopper. One label at a
// time names a shopper (the one under the pointer, else the selected one), so labels never collide.
import { $ } from './api.js';
import { HEAT_CELL } from './series.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Department colours, shared with the charts. */
export const DEPARTMENT_COLOURS = { Women: '#d9487a', Boys: '#3c82d8', Girls: '#a94fc4', Men: '#2f9a63', Sport: '#e08a1e' };
export const departmentColour = (name) => DEPARTMENT_COLOURS[name] ?? '#8a93a5';

/** `hex` mixed with white (f = 0: white, 1: the colour). */
export function tint(hex, f) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (v) =>
    Math.round(255 - (255 - v) * f)
      .toString(16)
      .padStart(2, '0');
  return `#${mix(n >> 16)}${mix((n >> 8) & 255)}${mix(n & 255)}`;
}

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

export function createPlanView(plan, { onSelect }) {
  const svg = $('plan');
  svg.setAttribute('viewBox', `-20 -70 ${plan.width + 40} ${plan.height + 90}`);
  svg.replaceChildren();
  const defs = el('defs', {}, svg);
  const blur = el('filter', { id: 'heat-blur', x: '-20%', y: '-20%', width: '140%', height: '140%' }, defs);
  el('feGaussianBlur', { stdDeviation: HEAT_CELL * 0.45 }, blur);
  el('rect', { class: 'floor', x: 0, y: 0, width: plan.width, height: plan.height, rx: 12 }, svg);
  for (const [name, r] of Object.entries(plan.departments)) {
    const g = el('g', { class: 'department', 'data-department': name }, svg);
    const colour = departmentColour(name);
    el('rect', { x: r.x1, y: r.y1, width: r.x2 - r.x1, height: r.y2 - r.y1, rx: 6, fill: tint(colour, 0.16), stroke: tint(colour, 0.55) }, g);
  }
  const heat = el('g', { id: 'heat', class: 'heat', filter: 'url(#heat-blur)' }, svg);
  // doors: a gap in the top wall above each point, the label outside the floor so shoppers never hide it
  for (const [kind, p] of [
    ['entrance', plan.entrance],
    ['exit', plan.exit],
  ]) {
    const g = el('g', { class: `door ${kind}`, 'data-door': kind }, svg);
    el('rect', { x: p.x - 45, y: -8, width: 90, height: 16, rx: 4 }, g);
    el('path', { d: kind === 'entrance' ? `M${p.x - 14} ${p.y - 24} l14 18 l14 -18` : `M${p.x - 14} ${p.y - 6} l14 -18 l14 18` }, g);
    el('text', { x: p.x + (kind === 'entrance' ? -60 : 60), y: -22, 'text-anchor': kind === 'entrance' ? 'end' : 'start' }, g).textContent =
      kind === 'entrance' ? 'Entrance' : 'Exit';
  }
  const shoppers = el('g', { id: 'shoppers' }, svg);
  // department names above the dots, with a halo: a shopper standing there never hides them
  const names = el('g', { class: 'department-names' }, svg);
  for (const [name, r] of Object.entries(plan.departments)) {
    el('text', { x: (r.x1 + r.x2) / 2, y: (r.y1 + r.y2) / 2, fill: tint(departmentColour(name), 0.9) }, names).textContent = name;
  }
  const label = el('g', { class: 'shopper-label', visibility: 'hidden' }, svg);
  const labelBox = el('rect', { x: -40, y: -62, width: 80, height: 34, rx: 8 }, label);
  const labelText = el('text', { y: -38 }, label);

  const dots = new Map();
  let selected, hovered;

  function placeLabel() {
    const id = hovered ?? selected;
    const g = id === undefined ? undefined : dots.get(id);
    if (!g) {
      label.setAttribute('visibility', 'hidden');
      delete label.dataset.id;
      return;
    }
    label.setAttribute('visibility', 'visible');
    label.dataset.id = id;
    labelText.textContent = id;
    const w = Math.max(60, 18 * String(id).length + 24);
    labelBox.setAttribute('x', String(-w / 2));
    labelBox.setAttribute('width', String(w));
    label.style.transform = g.style.transform;
  }

  return {
    /** Draws (or removes, when `s` is undefined) the dot of shopper `id`. */
    drawShopper(id, s) {
      let g = dots.get(id);
      if (!s) {
        g?.remove();
        dots.delete(id);
        if (hovered === id) hovered = undefined;
        placeLabel();
        return;
      }
      if (!g) {
        g = el('g', { class: 'shopper jump', 'data-id': id }, shoppers);
        el('circle', { r: 15 }, g);
        el('title', {}, g);
        g.addEventListener('click', () => onSelect(id));
        g.addEventListener('mouseenter', () => {
          hovered = id;
          placeLabel();
        });
        g.addEventListener('mouseleave', () => {
          if (hovered === id) hovered = undefined;
          placeLabel();
        });
        dots.set(id, g);
        // first position without a transition, then glide
        g.style.transform = `translate(${s.x}px, ${s.y}px)`;
        requestAnimationFrame(() => g.classList.remove('jump'));
      }
      g.style.transform = `translate(${s.x}px, ${s.y}px)`;
      for (const st of ['walking', 'focused', 'browsing']) g.classList.toggle(st, s.state === st);
      g.classList.toggle('selected', id === selected);
      g.dataset.state = s.state;
      g.dataset.x = s.x;
      g.dataset.y = s.y;
      g.querySelector('title').textContent = `Customer ${id}: ${s.state}${s.dep ? ` in ${s.dep}` : ''}`;
      if (id === (hovered ?? selected)) placeLabel();
    },
    select(id) {
      const previous = selected;
      selected = id;
      dots.get(previous)?.classList.remove('selected');
      dots.get(id)?.classList.add('selected');
      placeLabel();
    },
    /** Highlights a shopper from elsewhere on the page (an alert under the pointer); undefined ends it. */
    highlight(id) {
      hovered = id !== undefined && dots.has(id) ? id : undefined;
      placeLabel();
    },
    /** Dwell time per cell (Map "cx,cy" → ms) as a heat map; `show` false hides it. */
    drawHeat(cells, show) {
      heat.toggleAttribute('hidden', !show);
      heat.dataset.cells = String(cells.size);
      if (!show) return;
      let max = 0;
      for (const v of cells.values()) max = Math.max(max, v);
      heat.replaceChildren(
        ...[...cells].map(([cell, ms]) => {
          const [cx, cy] = cell.split(',').map(Number);
          const f = Math.sqrt(ms / max);
          return el('rect', {
            x: cx * HEAT_CELL,
            y: cy * HEAT_CELL,
            width: HEAT_CELL,
            height: HEAT_CELL,
            fill: f > 0.6 ? '#d7301f' : f > 0.3 ? '#fc8d59' : '#fdcc8a',
            'fill-opacity': (0.12 + 0.6 * f).toFixed(2),
          });
        }),
      );
      heat.dataset.maxMs = String(Math.round(max));
    },
  };
}
