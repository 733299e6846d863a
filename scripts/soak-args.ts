/** The soak's command line: its options, --help, and exit 2 on misuse. */
import { parseArgs } from 'node:util';

export const USAGE =
  'usage: npm run soak -- [--minutes N] [--rate R] [--faults all|none|storeflow,broker,database] [--format envelope|flat] [--seed N] [--keep] [--json]';
const HELP = `${USAGE}

Drives storeflow's recommender on services the soak starts for itself (its own Mosquitto and PostgreSQL
on free loopback ports; never the machine's shared ones) while it injects faults, then checks the
event log and the prediction topic. Needs Mosquitto (/usr/sbin/mosquitto or mosquitto on PATH); without
it the soak is skipped (exit 0): the in-process broker cannot survive a SIGKILL of its own process.
MOSQUITTO=/path/to/mosquitto picks another binary.

  --minutes N   how long to publish (default 1; fractions allowed)
  --rate R      focus events per second (default 200); each visit is entry, 2-3 focuses, exit
  --faults F    all (default), none, or a comma list of storeflow, broker, database. Per kind
                max(1, ceil(N/3)) faults spread over the run: storeflow SIGKILL and restart;
                broker SIGTERM / SIGKILL (alternating), down 2 s, restart on the same port and
                persistence; database fast / immediate shutdown (alternating), down 5 s, restart
  --format F    the predictions' MESSAGE_FORMAT: envelope (default; seed 003, ~150 B) or flat (seed 002:
                the coupon with its products, ~100 KB for a department coupon, ~100 MB/s at 1,000/s)
  --seed N      seed of the visit generator (default 1)
  --keep        keep the run folder (data and logs); by default only a failed run's logs are kept
  --json        also print the result as one JSON line (last line of output)
  --help        this text

Exit 0 when nothing was lost, decided twice, offered twice in a visit, reordered or left undecided, and
no stall after a fault exceeded 10 s; 1 otherwise; 2 on misuse.`;

export const FAULT_KINDS = ['storeflow', 'broker', 'database'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface SoakOptions {
  minutes: number;
  rate: number;
  seed: number;
  format: 'envelope' | 'flat';
  faultKinds: FaultKind[];
  keep: boolean;
  json: boolean;
}

const usageError = (msg: string): never => {
  process.stderr.write(`soak: ${msg}\n${USAGE}\n`);
  process.exit(2);
};

/** The options of process.argv; --help prints the help and exits 0. */
export function parseSoakArgs(): SoakOptions {
  const read = () => {
    try {
      return parseArgs({
        options: {
          minutes: { type: 'string', default: '1' },
          rate: { type: 'string', default: '200' },
          faults: { type: 'string', default: 'all' },
          format: { type: 'string', default: 'envelope' },
          seed: { type: 'string', default: '1' },
          keep: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
        allowPositionals: false,
        strict: true,
      }).values;
    } catch (err) {
      return usageError((err as Error).message);
    }
  };
  const a = read();
  if (a.help) {
    console.log(HELP);
    process.exit(0);
  }
  const minutes = Number(a.minutes),
    rate = Number(a.rate),
    seed = Number(a.seed);
  if (!(minutes > 0 && minutes <= 600)) usageError(`--minutes must be a number in (0, 600], got ${JSON.stringify(a.minutes)}`);
  if (!(rate > 0 && rate <= 20000)) usageError(`--rate must be a number in (0, 20000], got ${JSON.stringify(a.rate)}`);
  if (!Number.isSafeInteger(seed)) usageError(`--seed must be an integer, got ${JSON.stringify(a.seed)}`);
  if (a.format !== 'envelope' && a.format !== 'flat') usageError(`--format must be envelope or flat, got ${JSON.stringify(a.format)}`);
  const faultKinds: FaultKind[] =
    a.faults === 'all' ? [...FAULT_KINDS] : a.faults === 'none' ? [] : ((a.faults ?? '').split(',').map((s) => s.trim()) as FaultKind[]);
  for (const k of faultKinds)
    if (!FAULT_KINDS.includes(k)) usageError(`--faults: unknown fault ${JSON.stringify(k)} (all, none, or a list of ${FAULT_KINDS.join(', ')})`);
  return { minutes, rate, seed, format: a.format as 'envelope' | 'flat', faultKinds, keep: a.keep ?? false, json: a.json ?? false };
}
