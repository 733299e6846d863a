/**
 * Output of the `debug` package, which mqtt.js and mqtt-packet trace through when DEBUG names them
 * (DEBUG=mqttjs*): it prints the CONNECT packet, password included. Every line goes through here
 * and leaves with each known secret, and any password inside a URL, replaced by ***.
 */
import { createRequire } from 'node:module';
import { formatWithOptions, inspect } from 'node:util';
import { scrubUrl } from './logger.ts';

interface DebugModule {
  log: (...args: unknown[]) => void;
  inspectOpts?: object;
}

const secrets = new Set<string>();
let installed = false;

/** The ways a secret can appear in a trace: as is, escaped by util.inspect or JSON, percent-encoded. */
function forms(secret: string): string[] {
  return [secret, inspect(secret).slice(1, -1), JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)];
}

export function scrubDebugLine(line: string): string {
  let out = scrubUrl(line);
  // longest first, so a secret that contains another is replaced whole
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

/**
 * Adds secrets to scrub, and (once, when DEBUG is set) routes every `debug` instance mqtt.js and
 * mqtt-packet use through scrubDebugLine. Without DEBUG the package prints nothing: nothing to do.
 */
export function protectDebugOutput(values: (string | undefined)[]): void {
  for (const v of values) if (v && v.length >= 3) for (const f of forms(v)) secrets.add(f);
  if (installed || !process.env.DEBUG) return;
  installed = true;
  const fromHere = createRequire(import.meta.url);
  const mqttPath = fromHere.resolve('mqtt');
  const copies = new Set<DebugModule>();
  for (const owner of [mqttPath, createRequire(mqttPath).resolve('mqtt-packet')]) {
    try {
      copies.add(createRequire(owner)('debug') as DebugModule);
    } catch {
      /* that package does not use debug */
    }
  }
  for (const debug of copies) {
    debug.log = (...args: unknown[]) => {
      process.stderr.write(`${scrubDebugLine(formatWithOptions(debug.inspectOpts ?? {}, ...args))}\n`);
    };
  }
}
