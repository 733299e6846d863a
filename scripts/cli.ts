/**
 * The scripts' command lines, one way: node:util parseArgs (strict), `--help`/`-h` prints the usage and
 * options on stdout (exit 0), and misuse (an unknown option, a missing value, too many or too few
 * positional arguments, a value out of range) prints one error line and the usage line on stderr and
 * exits 2 — never a stack trace.
 *   const { values, positionals, int } = cli({ usage: 'npm run export -- [FILE] [options]', summary: '…', options: { … } });
 */
import { parseArgs } from 'node:util';
import { basename } from 'node:path';

export interface CliOption {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help (`--from N`). */
  arg?: string;
  help: string;
}

export interface CliSpec<O extends Record<string, CliOption>> {
  /** The usage line after "usage: ", e.g. `npm run replay -- [FILE] [options]`. */
  usage: string;
  /** What the script does (shown by --help). */
  summary: string;
  options?: O;
  /** Positional arguments: their help line(s) and how many are allowed (default: none). */
  positionals?: { help: string; min?: number; max?: number };
  /** Free text after the options (examples, environment variables). */
  more?: string;
}

export type CliValues<O extends Record<string, CliOption>> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };

export interface Cli<O extends Record<string, CliOption>> {
  values: CliValues<O>;
  positionals: string[];
  /** Misuse found after parsing: one line, the usage, exit 2. */
  fail(message: string): never;
  /** An integer option (or `fallback` when absent), within [min, max]; anything else is misuse. */
  int(name: keyof O & string, fallback: number, range?: { min?: number; max?: number }): number;
  /** A number option (or `fallback`), within [min, max]. */
  num(name: keyof O & string, fallback: number, range?: { min?: number; max?: number }): number;
}

const script = () => basename(process.argv[1] ?? 'script').replace(/\.ts$/, '');

export function usageLine(spec: { usage: string }): string {
  return `usage: ${spec.usage}`;
}

export function helpText<O extends Record<string, CliOption>>(spec: CliSpec<O>): string {
  const rows: [string, string][] = Object.entries(spec.options ?? {}).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`,
    o.help,
  ]);
  rows.push(['-h, --help', 'this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `${[
    usageLine(spec),
    '',
    spec.summary,
    '',
    ...(spec.positionals ? [spec.positionals.help, ''] : []),
    'options:',
    ...rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`),
    ...(spec.more ? ['', spec.more] : []),
  ].join('\n')}\n`;
}

/** Prints `message` and the usage line on stderr and exits 2. */
export function misuse(spec: { usage: string }, message: string): never {
  process.stderr.write(`${script()}: ${message}\n${usageLine(spec)}\n(--help lists the options)\n`);
  process.exit(2);
}

export function cli<O extends Record<string, CliOption>>(spec: CliSpec<O>, argv: string[] = process.argv.slice(2)): Cli<O> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: (spec.options ?? {}) as Record<string, CliOption>, allowPositionals: true, strict: true });
  } catch (err) {
    // node's messages go on about `--` after their first sentence
    misuse(
      spec,
      String((err as Error).message)
        .split('. ')[0]
        .replace(/\.$/, ''),
    );
  }
  const { min = 0, max = 0 } = spec.positionals ?? {};
  const n = parsed.positionals.length;
  if (n > max) misuse(spec, max === 0 ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}` : `too many arguments (${n}; at most ${max})`);
  if (n < min) misuse(spec, min === 1 ? 'an argument is missing' : `${min} arguments are needed, got ${n}`);
  const values = parsed.values as CliValues<O>;
  const number =
    (integer: boolean) =>
    (name: keyof O & string, fallback: number, range: { min?: number; max?: number } = {}) => {
      const raw = values[name];
      if (raw === undefined) return fallback;
      const v = Number(raw);
      const lo = range.min ?? -Infinity,
        hi = range.max ?? Infinity;
      if (raw === '' || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v)) || v < lo || v > hi)
        misuse(
          spec,
          `--${name} takes ${integer ? 'an integer' : 'a number'}${Number.isFinite(lo) ? ` ≥ ${lo}` : ''}${Number.isFinite(hi) ? ` ≤ ${hi}` : ''}, got ${JSON.stringify(raw)}`,
        );
      return v;
    };
  return { values, positionals: parsed.positionals, fail: (message) => misuse(spec, message), int: number(true), num: number(false) };
}
