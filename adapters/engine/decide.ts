/**
 * One logged input through one processor: the outputs it returns (or a promise of them), timed from the call to the
 * outputs. A processor that throws or rejects yields none, and the failure is logged: one bad input never stops the
 * pipeline (the input stays in the log, undecided, for the next start's recovery).
 */
import type { Logger } from '../process/logger.ts';
import type { Input, Output, Processor } from '../process/processor-contract.ts';

export function decide(processor: Processor, input: Input, log: Logger, decided: (since: number) => void): Output[] | Promise<Output[]> {
  const t0 = performance.now();
  try {
    const result = processor.handle(input);
    if (Array.isArray(result)) {
      decided(t0);
      return result;
    }
    return result.then(
      (outs) => {
        decided(t0);
        return outs;
      },
      (err) => failed(log, input, err),
    );
  } catch (err) {
    return failed(log, input, err);
  }
}

// module-level, not a closure made per input: the loader keeps function names (tsx's keepNames), and naming a closure
// on every call cost replay a fifth of its speed
function failed(log: Logger, input: Input, err: unknown): Output[] {
  log.error({ err, position: input.logged.position }, 'a processor failed on an input');
  return [];
}
