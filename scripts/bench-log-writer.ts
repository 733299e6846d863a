/** `npm run bench:log`'s writer that loses races: a share of its group commits first take positions and roll back. */
import { randomBytes } from 'node:crypto';
import { sql, type ConnectionPool } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import type { Logger } from '../adapters/process/logger.ts';
import type { LoggedEvent, NewEvent } from '../actors/kernel/event-log.ts';

/** A writer whose group commits, a `share` of the time, first lose a race: one INSERT that takes positions, then fails. */
export class LosingWriter extends PostgresEventLog {
  lost = 0;
  constructor(
    private pool: ConnectionPool,
    private share: number,
    log: Logger,
  ) {
    super(pool, { log });
  }
  protected override async insert(events: NewEvent[]): Promise<LoggedEvent[]> {
    if (Math.random() < this.share) {
      const race = `race-${randomBytes(6).toString('hex')}`;
      // as many rows as the batch, then one more on the first row's (stream, version): a unique violation
      await this.pool
        .query(sql`INSERT INTO events (stream_id, version, type, data)
          SELECT ${race} || g, 1, 'focus', '{}'::jsonb FROM generate_series(1, ${events.length}) g UNION ALL SELECT ${race} || 1, 1, 'focus', '{}'::jsonb`)
        .then(
          () => Promise.reject(new Error('the race was not lost')),
          () => {},
        );
      this.lost++;
    }
    return super.insert(events);
  }
}
