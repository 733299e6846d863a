/**
 * `npm run machines`: writes every machine's definition (machine.toJSON()) to machines/json/, to open
 * in the Stately editor or to diff in review. A test regenerates them and fails on any difference.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { sessionMachine } from '../machines/session.ts';
import { customerMachine } from '../machines/customer.ts';
import { focusDetectorMachine } from '../machines/focus-detector.ts';
import { pumpMachine } from '../machines/pump.ts';

export const MACHINES: Record<string, AnyStateMachine> = {
  session: sessionMachine, customer: customerMachine, 'focus-detector': focusDetectorMachine, pump: pumpMachine,
};
export const MACHINE_JSON_DIR = join(import.meta.dirname, '..', 'machines', 'json');

export function renderMachines(): Record<string, string> {
  return Object.fromEntries(Object.entries(MACHINES).map(([name, m]) => [`${name}.json`, JSON.stringify(m.toJSON(), null, 2) + '\n']));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(MACHINE_JSON_DIR, { recursive: true });
  for (const [file, text] of Object.entries(renderMachines())) writeFileSync(join(MACHINE_JSON_DIR, file), text);
  console.log(`wrote ${Object.keys(MACHINES).length} machine definitions to machines/json/`);
}
