/**
 * A replay's output log: the engine appends what the processors produce, the replay adds what the log recorded, and
 * each pair is compared as soon as both are in, then forgotten. What it holds is the outputs not yet matched (a
 * decision ahead of its record, or the reverse), not the log: a replay of 300,000 events stays within bounds.
 */
import { isDeepStrictEqual } from 'node:util';
import { causeOf, loggedInputId, type Input, type Output } from '../process/processor-contract.ts';
import type { LoggedOutput, OutputLog } from './engine.ts';

export interface Kept {
  type: string;
  data: unknown;
}

export interface Difference {
  messageId: string;
  kind: 'different' | 'missing' | 'extra';
  recorded?: unknown;
  replayed?: unknown;
}

export interface Comparison {
  recordedOutputs: number;
  replayedOutputs: number;
  identical: number;
  different: number;
  missing: number;
  extra: number;
  firstDifference?: Difference;
}

/**
 * Whether two outputs' data are the same JSON, key order aside (jsonb reorders keys). Structural equality answers
 * almost every comparison without serialising; only a pair it calls different (an absent key against an
 * undefined one, NaN against null) is serialised to be sure.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) || canonical(a) === canonical(b);
}

/** JSON with object keys sorted, so jsonb's key order does not count as a difference. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]]),
        )
      : x,
  );
}

export class ComparingLog implements OutputLog {
  /** Produced, not yet recorded, in the order produced. */
  private produced = new Map<string, Kept>();
  /** Recorded, not yet produced, with the order they were recorded in. */
  private recorded = new Map<string, Kept & { n: number }>();
  private recordedCount = 0;
  private producedCount = 0;
  private identical = 0;
  private different = 0;
  /** The earliest recorded output that differs (the report names the first difference in the log's order). */
  private firstDifferent?: { n: number; d: Difference };
  /** A partial export's context inputs (visits open at its start), by id: what they cause is not compared. */
  private contextInputs = new Set<string>();

  /** `compare` false: nothing is kept (a partial export's plan); `onOutput` hears every output produced, in order. */
  constructor(
    private readonly compare: boolean,
    private readonly onOutput?: (o: Output) => void,
  ) {}

  /** What the engine appends: kept for comparison. An output sits where its input does (nothing reads more of it). */
  append(outputs: Output[], cause: Input): LoggedOutput[] {
    const { position, version } = cause.logged;
    const logged: LoggedOutput[] = [];
    for (const o of outputs) {
      logged.push({ position, version, messageId: o.messageId });
      this.onOutput?.(o);
      if (this.compare) this.produce(o.messageId, { type: o.type, data: o.data });
    }
    return logged;
  }

  /** Unmatched outputs held now. */
  get held(): number {
    return this.produced.size + this.recorded.size;
  }

  /** An input of a partial export's context: what it causes is replayed and not compared. */
  context(input: Input): void {
    if (this.compare) this.contextInputs.add(loggedInputId(input.logged));
  }

  /** An output as the log recorded it. */
  record(messageId: string, kept: Kept): void {
    if (!this.compare) return;
    const n = this.recordedCount++;
    const got = this.produced.get(messageId);
    if (!got) {
      this.recorded.set(messageId, { ...kept, n });
      return;
    }
    this.produced.delete(messageId);
    this.match(messageId, kept, got, n);
  }

  private produce(messageId: string, got: Kept) {
    this.producedCount++;
    const rec = this.recorded.get(messageId);
    if (!rec) {
      this.produced.set(messageId, got);
      return;
    }
    this.recorded.delete(messageId);
    this.match(messageId, { type: rec.type, data: rec.data }, got, rec.n);
  }

  private match(messageId: string, rec: Kept, got: Kept, n: number) {
    if (got.type === rec.type && sameJson(got.data, rec.data)) {
      this.identical++;
      return;
    }
    this.different++;
    if (!this.firstDifferent || n < this.firstDifferent.n) this.firstDifferent = { n, d: { messageId, kind: 'different', recorded: rec, replayed: got } };
  }

  /** The comparison so far: what is unmatched now is missing (recorded) or extra (produced, unless of the context). */
  result(): Comparison {
    let first = this.firstDifferent;
    for (const [messageId, rec] of this.recorded) {
      // the earliest missing one (the map keeps the recorded order)
      if (!first || rec.n < first.n) first = { n: rec.n, d: { messageId, kind: 'missing', recorded: { type: rec.type, data: rec.data } } };
      break;
    }
    let extra = 0;
    let context = 0;
    let firstExtra: Difference | undefined;
    for (const [messageId, got] of this.produced) {
      if (this.fromContext(messageId)) context++;
      else {
        extra++;
        firstExtra ??= { messageId, kind: 'extra', replayed: got };
      }
    }
    return {
      recordedOutputs: this.recordedCount,
      replayedOutputs: this.producedCount - context,
      identical: this.identical,
      different: this.different,
      missing: this.recorded.size,
      extra,
      firstDifference: first?.d ?? firstExtra,
    };
  }

  /** An output a partial export's context input caused (an output id is its cause's id, `:` and what it is). */
  private fromContext(outputId: string): boolean {
    const cause = causeOf(outputId);
    return cause !== undefined && this.contextInputs.has(cause);
  }
}
