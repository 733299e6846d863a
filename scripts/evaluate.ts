/**
 * `npm run evaluate -- LOG --model FILE`: off-policy evaluation (issue 34). How would the candidate policy in FILE
 * (an uplift model: POLICY=uplift at MIN_EXPECTED_MARGIN --threshold, default 0; a redemption model: the default
 * policy at PREDICTION_THRESHOLD --threshold, default 0.2) have done on the logged run in LOG? Prints its incremental
 * margin per visit against offering nothing by IPS, self-normalised IPS and doubly robust estimation, with 95 %
 * intervals (actors/recommender/off-policy.ts).
 *
 * LOG: JSON lines in log order, each a visit's entry `{"type":"entry","data":{"id","ts"}}` or a decision
 * `{"type":"prediction"|"no_prediction","data":{…the logged record…},"margin":M}` with the margin realised at its
 * focus (joined from the till). `npm run bench:quality -- --write-log FILE` writes one from a simulated run.
 * The store is the generated one of --seed (default 4242, bench:quality's); the reward model of the doubly robust
 * estimate is the committed uplift model (--reward FILE for another).
 */
import { readFileSync } from 'node:fs';
import { cli } from './cli.ts';
import { checkModel, createCouponScorer } from '../actors/recommender/coupon-scorer.ts';
import { createUpliftScorer, loadUpliftModel, type UpliftModelFile } from '../actors/recommender/uplift-model.ts';
import { evaluateLog, type LogLine } from '../adapters/recommender/off-policy-log.ts';
import { QualityWorld } from '../adapters/simulator/quality-world.ts';

const { values, positionals, int, num, fail } = cli({
  usage: 'npm run evaluate -- LOG --model FILE [--seed N] [--threshold X] [--reward FILE] [--coupon-validity check|ignore] [--json]',
  summary: "Estimates a candidate policy's incremental margin per visit from a logged run (IPS, self-normalised IPS, doubly robust; 95 % intervals).",
  positionals: { help: 'LOG  JSON lines: entries and decisions with their realised margin', min: 1, max: 1 },
  options: {
    model: { type: 'string', arg: 'FILE', help: 'the candidate: an uplift model or a redemption model (required)' },
    seed: { type: 'string', arg: 'N', help: 'the generated store the log was made on (default 4242)' },
    threshold: { type: 'string', arg: 'X', help: "the candidate's threshold (default 0 for an uplift model, 0.2 for a redemption model)" },
    reward: { type: 'string', arg: 'FILE', help: 'the reward model (an uplift model; default the committed one)' },
    'coupon-validity': { type: 'string', arg: 'check|ignore', help: 'COUPON_VALIDITY of the logged run (default check)' },
    json: { type: 'boolean', help: 'one JSON document' },
  },
});
const modelFile = values.model ?? fail('--model FILE is required');
const validityOption = values['coupon-validity'] ?? 'check';
const validity = validityOption === 'check' || validityOption === 'ignore' ? validityOption : fail('--coupon-validity is check or ignore');
/** A JSON file's content, or misuse naming the file. */
function readJson<T>(file: string, parse: (text: string) => T): T {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`);
  }
}
const doc = readJson(modelFile, (t) => JSON.parse(t) as { format?: string });
const lines = readJson(positionals[0], (t) =>
  t
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LogLine),
);
const world = new QualityWorld(int('seed', 4242, { min: 0 }));
const marginOf = (id: number) => world.margins.get(id);
const isUplift = doc.format === 'storeflow/uplift-model@1';
const candidate = isUplift ? createUpliftScorer(loadUpliftModel(modelFile), marginOf) : createCouponScorer(checkModel(doc, modelFile));
const threshold = num('threshold', isUplift ? 0 : 0.2, { min: -1_000_000 });
const reward = createUpliftScorer(isUplift && !values.reward ? (doc as UpliftModelFile) : loadUpliftModel(values.reward || undefined), marginOf);
const result = evaluateLog(lines, {
  catalogue: world.catalogue,
  customers: world.customers,
  candidate,
  settings: { maxCoupons: 5, threshold, couponValidity: validity, policy: isUplift ? 'uplift' : 'model' },
  reward,
  marginOf: (id) => marginOf(id) ?? 0,
});
if (values.json) console.log(JSON.stringify({ visits: result.visits, focuses: result.focuses, ...result.estimates }));
else {
  console.log(`${result.visits} visits, ${result.focuses} decisions; incremental margin per visit of the candidate against offering nothing:`);
  for (const [k, e] of Object.entries(result.estimates))
    console.log(`  ${k.padEnd(6)} ${e.estimate.toFixed(4)}  (95 % ${e.ciLow.toFixed(4)} … ${e.ciHigh.toFixed(4)})`);
}
