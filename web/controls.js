// The simulator's and the pump's controls: start / stop and their live settings, through the roles'
// own endpoints (POST /simulator/start|stop|settings, POST /pump/start|stop|settings).
import { json } from './api.js';
import { clock, rate } from './words.js';

const hasRole = (roles, r) => roles.includes(r);

/** Returns `refresh(role)`: shows a role's state now (another part of the page started it). */
export function setupControls(roles, onPumpState) {
  const refreshers = new Map();
  for (const form of document.querySelectorAll('form.control')) {
    const role = form.dataset.role;
    const note = form.querySelector('.note');
    if (!hasRole(roles, role)) {
      form.classList.add('absent');
      for (const x of form.querySelectorAll('button, input')) x.disabled = true;
      note.hidden = false;
      note.textContent = `the ${role} role is not running in this process (ROLES)`;
      continue;
    }
    const show = (s, fill) => {
      showRole(form, role, s, fill);
      if (role === 'pump') onPumpState?.(s);
    };
    for (const b of form.querySelectorAll('button[data-action]')) {
      b.addEventListener('click', () => command(form, role, `${role}/${b.dataset.action}`, { method: 'POST' }, show));
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = settingsOf(form, role);
      if (Object.keys(body).length === 0) return;
      command(form, role, `${role}/settings`, { method: 'POST', body: JSON.stringify(body) }, show);
    });
    const refresh = () =>
      json(`${role}/state`).then(
        (s) => show(s, false),
        () => {
          /* shown on the next command */
        },
      );
    refresh();
    setInterval(refresh, 3000);
    refreshers.set(role, refresh);
  }
  return { refresh: (role) => refreshers.get(role)?.() };
}

function settingsOf(form, role) {
  const value = (name) => {
    const v = form.elements[name]?.value;
    return v === '' || v === undefined ? undefined : Number(v);
  };
  // the roles' own setting names: POST /simulator/settings {speed, averageInStore}, POST /pump/settings {rate}
  const out = role === 'simulator' ? { speed: value('speed'), averageInStore: value('shoppers') } : { rate: value('rate') };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined && Number.isFinite(v)));
}

async function command(form, role, url, init, show) {
  const note = form.querySelector('.note');
  try {
    await json(url, init);
    // commands answer in their own shapes: the state endpoint says what the role is doing now
    show(await json(`${role}/state`), true);
    note.hidden = true;
  } catch (err) {
    note.hidden = false;
    note.textContent = `${url}: ${err.message}`;
  }
}

function showRole(form, role, s, fill) {
  const out = form.querySelector('output.state');
  const running = s.state === 'started' || s.state === 'running' || s.running === true;
  out.classList.toggle('on', running);
  out.textContent = running ? 'running' : typeof s.state === 'string' ? s.state : 'stopped';
  if (role === 'pump' && running && typeof s.rate === 'number') out.textContent += ` · ${rate(s.rate)} focus/s`;
  if (role === 'simulator' && s.simulatedTime)
    out.textContent += ` · simulated ${clock(Date.parse(s.simulatedTime), Date.parse(s.simulatedTime), { seconds: false })}`;
  // fill the inputs once, and after a command; never while someone types
  const put = (name, v) => {
    const input = form.elements[name];
    if (input && v !== undefined && (fill || (!input.value && document.activeElement !== input))) input.value = String(v);
  };
  if (role === 'simulator') {
    put('speed', s.settings?.speed);
    put('shoppers', s.settings?.averageInStore);
  } else put('rate', s.target_rate);
}
