/**
 * A machine's version, as a snapshot of its actors names it (docs/snapshots.md): the hash of its Stately config
 * (machines/json/<machine>.json, written by `npm run machines`: every state, transition, guard and action by name)
 * and an explicit number the machine's file raises when the code of a guard or an action changes (what the config's
 * names mean). A snapshot of another version is ignored: the actor is made again from its events.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface MachineVersion {
  /** The machine's name in machines/json/. */
  machine: string;
  /** `<config hash>.<code version>`. */
  version: string;
}

export function machineVersion(machine: string, codeVersion: number): MachineVersion {
  const config = readFileSync(new URL(`../../machines/json/${machine}.json`, import.meta.url));
  return { machine, version: `${createHash('sha256').update(config).digest('hex').slice(0, 16)}.${codeVersion}` };
}
