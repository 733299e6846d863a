/** Which topic carries each kind of store event (the topic settings, prefix applied), for subscribing and for HTTP inputs. */
import type { Config } from '../../schemas/env.ts';
import type { EventKind } from '../../schemas/events.ts';

export function kindTopics(t: Config['topics']): Map<EventKind, string> {
  return new Map<EventKind, string>([
    ['entry', t.enter],
    ['move', t.move],
    ['exit', t.exit],
    ['focus', t.focus],
    ['browsing', t.browsing],
    ['redemption', t.redemption],
  ]);
}
