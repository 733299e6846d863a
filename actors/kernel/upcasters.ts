/**
 * Event schema versions, and the upcasters that bring older data to the current shape (docs/event-versions.md).
 * Every event is stored with the version of its type's data it was written in (PostgreSQL: the `schema_version`
 * column, sql/008; an export: `schema_version` on each line; absent = 1, written before versions were stored). Every
 * read path hands on the current shape only: a log's reads (PostgreSQL's toLogged, the in-memory log's copy), a
 * replayed file's records (fromExported, currentRecord), the gateway's stream pages. One small function per step
 * (version n → n + 1), listed per type here: raising a type's version is adding a step, and samples of both versions
 * (test/fixtures/event-versions/).
 */

/** A step: a type's data at version n, as version n + 1 has it. Never changes its argument. */
type Step = (data: unknown) => unknown;

/**
 * A decision record of version 1 (before issue 34's exploration) was chosen by the redemption model with probability
 * 1. A record that already says `v` in its data is of that version: issue 34's code wrote version 2 (with `v: 2`)
 * before the log stored versions, and such rows and export lines read as version 1.
 */
function decisionChosenByModel(data: unknown): unknown {
  if (!data || typeof data !== 'object' || 'v' in data) return data;
  return { ...data, v: 2, policy: 'model', propensity: 1 };
}

/** Each type's steps, oldest first: `steps[n - 1]` takes version n to n + 1; the current version is steps + 1. */
const STEPS: Readonly<Record<string, readonly Step[]>> = {
  prediction: [decisionChosenByModel],
  no_prediction: [decisionChosenByModel],
};

/**
 * Every type storeflow writes (and the records only an export holds: `partial_export`, `idle_end`), with its current
 * version. An AMQP message's type is its routing key's first segment: that data is the publisher's, never upcast.
 */
export const EVENT_VERSIONS: Readonly<Record<string, number>> = Object.fromEntries(
  [
    // inputs (schemas/events.ts) and the detector's outputs
    'entry',
    'exit',
    'move',
    'focus',
    'browsing',
    'redemption',
    // the recommender's decisions (adapters/recommender/decision-record.ts)
    'prediction',
    'no_prediction',
    // what could not be an input (adapters/process/rejected-input.ts, actors/gateway/amqp-message.ts)
    'rejected',
    // the dashboard's "helped" mark (adapters/dashboard/index.ts)
    'helped',
    // what ran, with which settings, model and store data (docs/replay-provenance.md)
    'recommender_started',
    'recommender_stopped',
    'detector_started',
    'catalogue_loaded',
    // a partial export's own records (adapters/process/partial-export.ts)
    'partial_export',
    'idle_end',
  ].map((type) => [type, (STEPS[type]?.length ?? 0) + 1]),
);

/** Whether the event is a publisher's AMQP message (stream `amqp-…`, actors/gateway/amqp-message.ts): not storeflow's data. */
function foreign(type: string, streamId: string): boolean {
  return streamId.startsWith('amqp-') && type !== 'rejected';
}

/** The version an event of `type` on `streamId` is written in now. */
export function currentVersion(type: string, streamId: string): number {
  if (foreign(type, streamId)) return 1;
  return (STEPS[type]?.length ?? 0) + 1;
}

/**
 * `data` of `type` written at `version`, in the current shape: each step from `version` on, in turn (the same value
 * when it is current). Data of a version newer than this code knows (written by a later release) is passed on as it is:
 * a reader never downcasts.
 */
export function upcast(type: string, streamId: string, version: number, data: unknown): unknown {
  const steps = STEPS[type];
  if (steps === undefined || version > steps.length || foreign(type, streamId)) return data;
  let d = data;
  for (let v = Math.max(1, version); v <= steps.length; v++) d = steps[v - 1](d);
  return d;
}

/** One step of a type, from `version` to `version + 1` (for the tests on stored samples). */
export function step(type: string, version: number): Step | undefined {
  return STEPS[type]?.[version - 1];
}
