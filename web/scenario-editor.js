// The scenario editor on the manager's plan: click a path for a shopper (moves, and focus stops with
// Shift or the "focus stop" choice), play it now through the simulator's POST /scenario_draft, then
// watch the shopper walk on the plan and their coupon arrive on their phone (/phone/:id).
import { $, esc, json } from './api.js';
import { stepAt, draftBody, walkMs, stepWords } from './scenario-draft.js';
import { departmentColour } from './plan-view.js';
import { departmentAt, duration, clock, reasonName } from './words.js';
import { discountText } from './coupon-words.js';

const SVG = 'http://www.w3.org/2000/svg';
const CUSTOMER_ID = /^[A-Za-z0-9_:-]{1,64}$/;

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent.appendChild(e);
  return e;
}

/** What a played path's decisions mean for the operator: a walk that got no coupon says why. */
const WHY = {
  below_threshold: 'every coupon scored below PREDICTION_THRESHOLD',
  all_offered: 'the best coupons were offered already in this visit',
  no_coupons: 'the department has no coupons',
  no_valid_coupons: "none of the department's coupons is valid today (COUPON_VALIDITY)",
  unknown_customer: 'the customer is not in customer_info',
};

/** One decision or the end of a played walk, in words; undefined for anything else. */
export function outcomeLine(id, msg, decided) {
  const b = msg.message_body ?? {};
  if (msg.message_type === 'prediction') {
    const c = b.coupon ?? {};
    return `Customer ${id} · ${c.department ?? '?'}: offered coupon #${c.id} ${discountText(c.discount)}.`;
  }
  if (msg.message_type === 'no_prediction')
    return `Customer ${id} · ${b.dep ?? '?'}: no coupon, ${reasonName(b.reason)}${WHY[b.reason] ? ` (${WHY[b.reason]})` : ''}.`;
  if (msg.message_type === 'exit' && decided === 0) return `Customer ${id} left without a focus detected: add a focus stop in a department.`;
  return undefined;
}

export function createScenarioEditor(plan, { roles, getStore, onSimulatorStarted }) {
  const svg = $('plan');
  const panel = $('editor');
  const toggle = $('editor-toggle');
  const input = $('editor-customer');
  const list = $('editor-steps');
  const note = $('editor-note');
  const playButton = panel.querySelector('button[data-action="play"]');
  const layer = el('g', { id: 'draft-path', class: 'draft-path' }, svg);
  // under the shoppers: the dot that walks the path stays visible on it
  svg.insertBefore(layer, $('shoppers'));
  const state = { editing: false, steps: [], played: [], outcomes: [] };
  /** The customers played, and from which ordinal their decisions are this walk's. */
  const watched = new Map();
  let playedPath = false;

  const say = (text) => {
    note.textContent = text;
    note.hidden = !text;
  };
  const focusMode = () => panel.querySelector('input[name="step"]:checked')?.value === 'focus';

  /** A customer number not on the plan (the generated store has customers 1–1000). */
  function suggestCustomer() {
    const inStore = getStore()?.shoppers ?? new Map();
    for (let i = 0; i < 50; i++) {
      const id = String(1 + Math.floor(Math.random() * 1000));
      if (!inStore.has(id)) return id;
    }
    return String(1 + Math.floor(Math.random() * 1000));
  }

  function phoneLink() {
    const id = input.value.trim();
    const a = $('editor-phone');
    a.hidden = !CUSTOMER_ID.test(id);
    a.href = `phone/${encodeURIComponent(id)}`;
    a.textContent = `Open customer ${id}'s phone ↗`;
  }

  function draw() {
    layer.replaceChildren();
    layer.classList.toggle('played', playedPath);
    if (state.steps.length > 1) el('polyline', { points: state.steps.map((s) => `${s.x},${s.y}`).join(' ') }, layer);
    state.steps.forEach((s, i) => {
      const g = el('g', { class: `step ${s.type}`, transform: `translate(${s.x} ${s.y})` }, layer);
      const dep = departmentAt(plan, s.x, s.y);
      el('circle', { r: s.type === 'focus' ? 26 : 16, ...(s.type === 'focus' ? { stroke: departmentColour(dep) } : {}) }, g);
      el('text', { y: 1 }, g).textContent = String(i + 1);
    });
    list.innerHTML = state.steps.length
      ? state.steps.map((s) => `<li class="${s.type}">${esc(stepWords(plan, s))}</li>`).join('')
      : '<li class="empty">Click on the plan: each click is a move; a focus stop makes the shopper linger (detected as a focus).</li>';
    const ms = walkMs(state.steps);
    $('editor-summary').textContent = state.steps.length ? `${state.steps.length} steps · about ${duration(ms)} of store time` : '';
    playButton.disabled = state.steps.length === 0 || !roles.includes('simulator');
  }

  function setEditing(on) {
    state.editing = on;
    panel.hidden = !on;
    toggle.setAttribute('aria-pressed', String(on));
    svg.classList.toggle('drawing', on);
    layer.toggleAttribute('hidden', !on && !playedPath);
    if (on && !input.value) input.value = suggestCustomer();
    phoneLink();
    draw();
  }

  // in capture: while drawing, a click on a shopper's dot is a step too, not a selection
  svg.addEventListener(
    'click',
    (e) => {
      if (!state.editing) return;
      e.stopPropagation();
      const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
      if (p.x < 0 || p.y < 0 || p.x > plan.width || p.y > plan.height) return;
      if (playedPath) {
        playedPath = false;
        state.steps = [];
      }
      state.steps.push(stepAt(plan, p.x, p.y, e.shiftKey || focusMode()));
      say('');
      draw();
    },
    true,
  );

  async function play() {
    const id = input.value.trim();
    if (!CUSTOMER_ID.test(id)) return say('The customer is 1-64 letters, digits, _ - or :.');
    const steps = state.steps.slice();
    playButton.disabled = true;
    say('Scheduling…');
    try {
      // the draft waits on the simulator's timeline: play means the timeline runs
      const sim = await json('simulator/state');
      const started = sim.state !== 'started';
      if (started) {
        await json('simulator/start', { method: 'POST' });
        onSimulatorStarted?.();
      }
      watched.set(id, { since: getStore()?.lastOrdinal ?? 0, decided: 0 });
      const r = await json('simulator/scenario_draft', { method: 'POST', body: JSON.stringify(draftBody(id, steps)) });
      state.played.push({ customer: id, steps, scheduled: r.scheduled, path: r.path });
      playedPath = true;
      const first = r.path[0]?.at ? clock(Date.parse(r.path[0].at), Date.parse(r.path[0].at)) : '';
      say(
        `Customer ${id}: ${r.scheduled} moves, the first at ${first} store time, the last about ${duration(walkMs(steps))} later${started ? ' (the simulator was started to play it)' : ''}.`,
      );
    } catch (err) {
      say(`Could not play it: ${err.message}`);
    } finally {
      draw();
    }
  }

  toggle.addEventListener('click', () => setEditing(!state.editing));
  $('editor-close').addEventListener('click', () => setEditing(false));
  input.addEventListener('input', phoneLink);
  panel.querySelector('button[data-action="undo"]').addEventListener('click', () => {
    if (playedPath) return;
    state.steps.pop();
    draw();
  });
  panel.querySelector('button[data-action="clear"]').addEventListener('click', () => {
    playedPath = false;
    state.steps = [];
    say('');
    draw();
  });
  playButton.addEventListener('click', play);
  if (!roles.includes('simulator')) say('The simulator role is not running in this process (ROLES): a path cannot be played here.');
  layer.toggleAttribute('hidden', true);

  /** Every stream message: a played customer's decisions (and a walk that ended without any) appear under the editor. */
  function observe(msg) {
    const id = String(msg.message_body?.id ?? msg.message_body?.customer_id ?? '');
    const w = watched.get(id);
    if (!w || !(msg.ess_ordinal > w.since)) return;
    const line = outcomeLine(id, msg, w.decided);
    if (msg.message_type === 'prediction' || msg.message_type === 'no_prediction') w.decided++;
    if (msg.message_type === 'exit') watched.delete(id);
    if (!line) return;
    state.outcomes.push(line);
    const list = $('editor-outcome');
    list.hidden = false;
    list.insertAdjacentHTML('afterbegin', `<li>${esc(line)}</li>`);
    while (list.children.length > 5) list.lastElementChild.remove();
  }
  return { state, observe };
}
