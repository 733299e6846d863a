/** The fuzzer's command line: `npm run fuzz -- [--count N] …`; exit 2 on a bad argument. */

export const USAGE = 'usage: npm run fuzz -- [--count N] [--seed S] [--only name,name] [--timeout-ms MS] [--concurrency C] [--path-seconds S] [--keep]\n';

export interface FuzzOptions {
  count: number;
  seed: string;
  only: string[];
  timeoutMs: number;
  concurrency: number;
  pathSeconds: number;
  keep: boolean;
}

/** A misuse: the message and the usage on stderr, exit 2. */
export function bad(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n${USAGE}`);
  process.exit(2);
}

/** The options of `args` (process.argv.slice(2)); --help prints the usage and exits 0. */
export function parseArgs(args: string[]): FuzzOptions {
  const opt: FuzzOptions = { count: 1000, seed: '1', only: [], timeoutMs: 10_000, concurrency: 8, pathSeconds: 300, keep: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) bad(`${a} needs a value`);
      return v as string; // bad() exits
    };
    if (a === '--count') opt.count = Number(value());
    else if (a === '--seed') opt.seed = value();
    else if (a === '--only')
      opt.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--timeout-ms') opt.timeoutMs = Number(value());
    else if (a === '--concurrency') opt.concurrency = Number(value());
    else if (a === '--path-seconds') opt.pathSeconds = Number(value());
    else if (a === '--keep') opt.keep = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else bad(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opt.count) || opt.count < 1) bad('--count must be a positive integer');
  if (!Number.isInteger(opt.concurrency) || opt.concurrency < 1 || opt.concurrency > 64) bad('--concurrency must be 1..64');
  if (!(opt.timeoutMs >= 100)) bad('--timeout-ms must be at least 100');
  if (!(opt.pathSeconds >= 1)) bad('--path-seconds must be at least 1');
  return opt;
}
