/**
 * `npm run machines`: writes each machine's own config (scripts/machine-config.ts: every state and
 * transition, `always`, `after`, invoked actors, guards and actions by name) to machines/json/<machine>.json,
 * to import into the Stately editor or to diff in review. A test regenerates them and fails on any
 * difference, and loads each back into createMachine to compare its transitions with the source's.
 *   npm run machines                    write machines/json/
 *   npm run machines -- --print NAME    print `createMachine({...})` for Stately's Import
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { sessionMachine } from '../machines/session.ts';
import { customerMachine } from '../machines/customer.ts';
import { focusDetectorMachine } from '../machines/focus-detector.ts';
import { pumpMachine } from '../machines/pump.ts';
import { machineConfig } from './machine-config.ts';
import { cli } from './cli.ts';

export const MACHINES: Record<string, AnyStateMachine> = {
  session: sessionMachine,
  customer: customerMachine,
  'focus-detector': focusDetectorMachine,
  pump: pumpMachine,
};
export const MACHINE_JSON_DIR = join(import.meta.dirname, '..', 'machines', 'json');

export function renderMachines(): Record<string, string> {
  return Object.fromEntries(Object.entries(MACHINES).map(([name, m]) => [`${name}.json`, `${JSON.stringify(machineConfig(m), null, 2)}\n`]));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, fail } = cli({
    usage: 'npm run machines -- [--print NAME]',
    summary: "Writes every machine's config to machines/json/<machine>.json (Stately-importable JSON).",
    options: {
      print: {
        type: 'string',
        arg: 'NAME',
        help: `print one machine as createMachine({...}) for the Stately editor's Import instead (${Object.keys(MACHINES).join(', ')})`,
      },
    },
  });
  if (values.print !== undefined) {
    const machine = MACHINES[values.print];
    if (!machine) fail(`unknown machine ${JSON.stringify(values.print)} (one of ${Object.keys(MACHINES).join(', ')})`);
    process.stdout.write(`createMachine(${JSON.stringify(machineConfig(machine), null, 2)});\n`);
  } else {
    mkdirSync(MACHINE_JSON_DIR, { recursive: true });
    for (const [file, text] of Object.entries(renderMachines())) writeFileSync(join(MACHINE_JSON_DIR, file), text);
    console.log(`wrote ${Object.keys(MACHINES).length} machine configs to machines/json/`);
  }
}
