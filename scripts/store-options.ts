/** Command-line options shared by the data scripts (seed, train): the store's size, window and seed. */
import { DEFAULT_STORE_OPTIONS, checkStoreOptions, type StoreOptions } from '../actors/data/store-generator.ts';

export interface ParsedArgs {
  store: StoreOptions;
  flags: Map<string, string | true>;
  positional: string[];
}

const STORE_FLAGS: Record<string, keyof StoreOptions> = {
  '--seed': 'seed',
  '--customers': 'customers',
  '--products': 'products',
  '--days': 'days',
  '--from': 'from',
  '--history-days': 'historyDays',
};

/** `--name value` / `--name=value` / `--flag`; SEED from the environment unless --seed is given. Exits 2 on bad input. */
export function parseArgs(argv: string[], known: string[], usage: string): ParsedArgs {
  const store: StoreOptions = { ...DEFAULT_STORE_OPTIONS };
  if (process.env.SEED !== undefined && process.env.SEED !== '') store.seed = Number(process.env.SEED);
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name in STORE_FLAGS) {
      const value = inline ?? argv[++i];
      if (value === undefined) {
        problems.push(`${name} needs a value`);
        continue;
      }
      const key = STORE_FLAGS[name];
      (store as Record<keyof StoreOptions, string | number>)[key] = key === 'from' ? value : Number(value);
    } else if (known.includes(name)) {
      const takesValue = !name.startsWith('--no-');
      flags.set(name, takesValue ? (inline ?? argv[++i] ?? '') : true);
    } else problems.push(`unknown option ${name}`);
  }
  // none of the data scripts takes a positional argument: one is a mistake (a forgotten --out, a typo)
  if (positional.length) problems.push(`unexpected argument ${JSON.stringify(positional[0])}`);
  problems.push(...checkStoreOptions(store));
  if (problems.length) {
    process.stderr.write(`${problems.map((p) => `error: ${p}`).join('\n')}\n\n${usage}`);
    process.exit(2);
  }
  return { store, flags, positional };
}
