/**
 * The roles' queries over the event-log port, each in both versions: read through the port (any log) and, where the
 * log has one, its own faster version (PostgreSQL's SQL); both must give what the test expects, and the same.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventLog, LogQueries } from '../actors/kernel/event-log.ts';
import { eventsOf, openVisits, type OpenVisit } from '../adapters/recommender/open-visits.ts';
import type { MachineVersion } from '../adapters/engine/machine-version.ts';
import { latestOfOverPort } from '../adapters/recommender/recent-predictions.ts';
import { spentPerDayOverPort } from '../adapters/recommender/budget-spent.ts';
import { inputIdsSinceOverPort, quiet } from '../adapters/process/recent-inputs.ts';
import { anyOfOverPort } from '../adapters/process/logged-ids.ts';
import { tallyOverPort } from '../adapters/process/log-tally.ts';
import { streamPageOverPort } from '../adapters/gateway/stream-page.ts';
import { firstPositionSinceOverPort } from '../adapters/gateway/log-position.ts';
import { countSinceOverPort, lastOverPort } from '../adapters/dashboard/log-counts.ts';
import type { MakeLog } from './event-log-contract.ts';

/** Stream pages compared by their JSON's value (PostgreSQL hands over its own text of the same JSON). */
const parsed = (x: unknown) =>
  JSON.parse(JSON.stringify(x, (k, v) => ((k === 'dataJson' || k === 'metadataJson') && typeof v === 'string' ? JSON.parse(v) : v)) ?? 'null');

/** A visit as the test states it: its restore point and the versions of its events after it. */
const shown = (v: OpenVisit) => ({
  streamId: v.streamId,
  ...(v.snapshot ? { snapshot: { version: v.snapshot.version, machineVersion: v.snapshot.machineVersion, state: v.snapshot.state } } : {}),
  ...(v.ignored ? { ignored: v.ignored } : {}),
  events: v.events.map((e) => `${e.version}:${e.type}`),
});

/** Each query as a function that runs it through the port and, when the log has it, its own way too, and says they agree. */
function bothVersions(log: EventLog, ranFast: Set<keyof LogQueries>) {
  async function both<R>(name: keyof LogQueries, viaPort: () => Promise<R>, fast: () => Promise<R> | undefined, order = (r: R) => r): Promise<R> {
    const port = order(await viaPort());
    const own = fast();
    if (!own) return port;
    ranFast.add(name);
    assert.equal(parsed(order(await own)), parsed(port), `${name}: the log's own version answers as the port's reading does`);
    return port;
  }
  const q = log.queries;
  return {
    // where visits start (the stream heads) and their events after it (one read for every stream): the events of the open visits
    openVisits: (idle: number, o?: { moves?: boolean }) =>
      both(
        'openVisitStarts',
        async () => eventsOf(await openVisits(log, idle, o, 'port')),
        () => (q?.openVisitStarts && q.visitsFrom ? openVisits(log, idle, o).then(eventsOf) : undefined),
      ).then((events) => {
        if (q?.visitsFrom) ranFast.add('visitsFrom');
        return events;
      }),
    // the same with each visit's restore point: the whole visits (snapshot, one of another version named, events after)
    restorePoints: (idle: number, machine: MachineVersion) =>
      both(
        'visitsFrom',
        async () => (await openVisits(log, idle, { machine }, 'port')).map(shown),
        () => (q?.openVisitStarts && q.visitsFrom ? openVisits(log, idle, { machine }).then((v) => v.map(shown)) : undefined),
      ),
    latestOf: (type: string, ms: number) =>
      both(
        'latestOf',
        () => latestOfOverPort(log, type, ms),
        () => q?.latestOf?.(type, ms),
      ),
    inputIdsSince: (ms: number) =>
      both(
        'inputIdsSince',
        () => inputIdsSinceOverPort(log, ms),
        () => q?.inputIdsSince?.(ms),
        (r) => [...r].sort((a, b) => a.messageId.localeCompare(b.messageId)),
      ),
    anyOf: (ids: string[]) =>
      both(
        'anyOf',
        () => anyOfOverPort(log, ids),
        () => q?.anyOf?.(ids),
      ),
    firstPositionSince: (ms: number) =>
      both(
        'firstPositionSince',
        () => firstPositionSinceOverPort(log, ms),
        () => q?.firstPositionSince?.(ms),
      ),
    streamPage: (position: number, o: { fromTime?: number; type?: string; limit: number; toPosition?: number }) =>
      both(
        'streamPage',
        () => streamPageOverPort(log, position, o),
        () => q?.streamPage?.(position, o),
      ),
    countSince: (type: string, ms: number, upTo: number) =>
      both(
        'countSince',
        () => countSinceOverPort(log, type, ms, upTo),
        () => q?.countSince?.(type, ms, upTo),
      ),
    last: (streamId: string, type: string) =>
      both(
        'last',
        () => lastOverPort(log, streamId, type),
        () => q?.last?.(streamId, type),
      ),
    tally: (after = 0) =>
      both(
        'tally',
        () => tallyOverPort(log, after),
        () => q?.tally?.(after),
      ),
    spentPerDay: () =>
      both(
        'spentPerDay',
        () => spentPerDayOverPort(log),
        () => q?.spentPerDay?.(),
        (r) => [...r].sort((a, b) => a.day - b.day),
      ),
  };
}

export function logQueriesContract(name: string, make: MakeLog): void {
  const s = suite(`event log queries: ${name}`);
  const ranFast = new Set<keyof LogQueries>();
  let log: EventLog, done: () => Promise<void>, q: ReturnType<typeof bothVersions>;
  let hasQueries: (keyof LogQueries)[] = [];
  s.before.each(async () => {
    ({ log, done } = await make());
    q = bothVersions(log, ranFast);
    hasQueries = Object.keys(log.queries ?? {}) as (keyof LogQueries)[];
  });
  s.after.each(async () => {
    await done();
  });

  s('tally counts events after a position by type and by source; read selects by source', async () => {
    const logged = await log.append([
      { streamId: 'customer-1', type: 'entry', data: { id: '1', ts: 10 }, metadata: { source: 'mqtt' } },
      { streamId: 'customer-1', type: 'focus', data: { id: '1', ts: 11, dep: 'Men' }, metadata: { source: 'mqtt' } },
      { streamId: 'customer-1', type: 'prediction', data: { customer_id: '1' }, metadata: { source: 'output', cause: 'x' } },
      { streamId: 'system', type: 'recommender_started', data: {} },
    ]);
    const [first, second, , last] = logged.map((e) => e.position);
    assert.equal(await q.tally(), {
      head: last,
      types: { entry: 1, focus: 1, prediction: 1, recommender_started: 1 },
      sources: { mqtt: 2, output: 1 },
    });
    assert.equal(await q.tally(first), { head: last, types: { focus: 1, prediction: 1, recommender_started: 1 }, sources: { mqtt: 1, output: 1 } });
    assert.equal(await q.tally(last), { head: 0, types: {}, sources: {} });
    assert.equal(
      (await log.read({ source: 'mqtt' })).map((e) => e.position),
      [first, second],
    );
  });

  s('counts, the latest of a type, and stream pages as a replay sends them', async () => {
    const out = await log.append([
      { streamId: 'customer-1', type: 'browsing', data: { id: '1', ts: 1 } },
      { streamId: 'customer-1', type: 'prediction', data: { customer_id: '1' } },
      { streamId: 'amqp-orders', type: 'orders', data: { customer_id: 7 }, metadata: { source: 'amqp', routing_key: 'orders.eu' } },
      { streamId: 'customer-1', type: 'browsing', data: { id: '1', ts: 2 } },
    ]);
    assert.is(await q.countSince('browsing', 0, out[3].position), 2);
    assert.is(await q.countSince('browsing', 0, out[2].position), 1);
    assert.is((await q.last('customer-1', 'browsing'))?.position, out[3].position);
    assert.is(await q.last('customer-2', 'browsing'), undefined);
    const page = await q.streamPage(out[1].position, { limit: 2 });
    assert.equal(
      page.map((r) => ({ ...r, dataJson: JSON.parse(r.dataJson), metadataJson: JSON.parse(r.metadataJson), recordedAt: typeof r.recordedAt })),
      [
        {
          position: out[1].position,
          type: 'prediction',
          streamId: 'customer-1',
          version: 2,
          messageId: null,
          dataJson: { customer_id: '1' },
          metadataJson: {},
          routingKey: null,
          customer: '1',
          recordedAt: 'number',
        },
        {
          position: out[2].position,
          type: 'orders',
          streamId: 'amqp-orders',
          version: 1,
          messageId: null,
          dataJson: { customer_id: 7 },
          metadataJson: { source: 'amqp', routing_key: 'orders.eu' },
          routingKey: 'orders.eu',
          customer: '7',
          recordedAt: 'number',
        },
      ],
    );
    assert.equal(
      (await q.streamPage(1, { type: 'browsing', limit: 10 })).map((r) => r.position),
      [out[0].position, out[3].position],
    );
  });

  s('recent input ids are those of inputs, not outputs', async () => {
    await log.append([
      { streamId: 'customer-1', type: 'focus', data: { id: '1', ts: 1 }, messageId: 'in-1', metadata: { source: 'mqtt' } },
      { streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'in-1:prediction', metadata: { source: 'output' } },
      { streamId: 'customer-2', type: 'entry', data: { id: '2', ts: 1 }, metadata: { source: 'mqtt' } },
    ]);
    assert.equal(
      (await q.inputIdsSince(0)).map((e) => e.messageId),
      ['in-1'],
    );
  });

  s('open visits: customers still in the store, their events since their last exit; one clock far ahead idles nobody', async () => {
    const e = (id: string, type: string, ts: number, extra: object = {}) => ({
      streamId: `customer-${id}`,
      type,
      data: { id, ts, ...extra },
      metadata: { source: 'mqtt' },
    });
    await log.append([
      e('1', 'entry', 1000),
      e('1', 'exit', 1100),
      e('1', 'entry', 5000),
      e('1', 'focus', 5010, { dep: 'Men' }),
      e('2', 'entry', 1000),
      e('2', 'exit', 1200), // left
      e('3', 'entry', 100), // idle: over 7200 s before event time
      e('4', 'entry', 5020),
      e('5', 'entry', 4_102_444_800), // far ahead: its own visit is open, and it moves nobody's clock
      // a closed visit whose focus was never decided (a crash between the two): from the exit before it
      e('6', 'entry', 4000),
      e('6', 'focus', 4001, { dep: 'Men' }),
      { streamId: 'customer-6', type: 'no_prediction', data: { reason: 'below_threshold' }, metadata: { source: 'output' } },
      e('6', 'exit', 4002),
      e('6', 'entry', 4003),
      e('6', 'focus', 4004, { dep: 'Men' }),
      e('6', 'exit', 4005),
    ]);
    const open = await q.openVisits(4000);
    assert.equal(
      open.map((x) => `${x.streamId}:${x.type}:${(x.data as { ts?: unknown }).ts ?? ''}`),
      [
        'customer-1:entry:5000',
        'customer-1:focus:5010',
        'customer-4:entry:5020',
        'customer-5:entry:4102444800',
        'customer-6:entry:4003',
        'customer-6:focus:4004',
        'customer-6:exit:4005',
      ],
    );
  });
  s('the latest of a type: those recorded within the window before the last one', async () => {
    assert.equal(await q.latestOf('prediction', 5000), []);
    const out = await log.append([
      { streamId: 'customer-1', type: 'prediction', data: { n: 1 } },
      { streamId: 'customer-2', type: 'entry', data: {} },
      { streamId: 'customer-2', type: 'prediction', data: { n: 2 } },
    ]);
    assert.equal(
      (await q.latestOf('prediction', 5000)).map((e) => e.position),
      [out[0].position, out[2].position],
    );
  });

  s('any of these ids logged', async () => {
    await log.append([{ streamId: 'customer-1', type: 'focus', data: {}, messageId: 'f1' }]);
    assert.is(await q.anyOf(['x', 'f1']), true);
    assert.is(await q.anyOf(['x', 'y']), false);
    assert.is(await q.anyOf([]), false);
  });

  s('the first position recorded since a time', async () => {
    assert.is(await q.firstPositionSince(0), 1);
    const out = await log.append([
      { streamId: 's', type: 't', data: 1 },
      { streamId: 's', type: 't', data: 2 },
    ]);
    assert.is(await q.firstPositionSince(0), out[0].position);
    assert.is(await q.firstPositionSince(Date.now() + 60_000), out[1].position + 1);
  });

  s('the discounts offered, per day of their event time', async () => {
    const p = (ts: number, discount: number) => ({ streamId: 'customer-1', type: 'prediction', data: { ts, coupon: { discount } } });
    await log.append([p(86400 + 5, 10), p(86400 + 50, 5), p(3 * 86400, 20), { streamId: 'customer-1', type: 'no_prediction', data: { ts: 9 } }]);
    assert.equal(await q.spentPerDay(), [
      { day: 1, spent: 15 },
      { day: 3, spent: 20 },
    ]);
  });

  s('open visits: a visit reopened after its exit is read from that exit; a decided focus is not undecided', async () => {
    const e = (id: string, type: string, ts: number) => ({ streamId: `customer-${id}`, type, data: { id, ts }, metadata: { source: 'mqtt' } });
    assert.equal(await q.openVisits(4000), []);
    await log.append([
      e('1', 'entry', 100),
      e('1', 'focus', 101),
      { streamId: 'customer-1', type: 'prediction', data: { ts: 101 }, metadata: { source: 'output' } },
      e('1', 'exit', 102),
      e('2', 'entry', 103),
      e('2', 'move', 104),
    ]);
    assert.equal(
      (await q.openVisits(4000)).map((x) => `${x.streamId}:${x.type}`),
      ['customer-2:entry', 'customer-2:move'],
    );
  });

  s("open visits with moves: a shopper still walking keeps the visit open (the detector's view), not the recommender's", async () => {
    const e = (id: string, type: string, ts: number) => ({ streamId: `customer-${id}`, type, data: { id, ts }, metadata: { source: 'mqtt' } });
    await log.append([e('7', 'entry', 1000), e('7', 'move', 5000), e('7', 'move', 5001), e('8', 'entry', 5002), e('9', 'entry', 5003)]);
    const streams = async (o?: { moves?: boolean }) => (await q.openVisits(100, o)).map((x) => `${x.streamId}:${x.type}`);
    assert.equal(await streams(), ['customer-8:entry', 'customer-9:entry']);
    assert.equal(await streams({ moves: true }), ['customer-7:entry', 'customer-7:move', 'customer-7:move', 'customer-8:entry', 'customer-9:entry']);
  });

  s('open visits from snapshots: the newest of the version in force within the visit; one of another version named, not used', async () => {
    const e = (id: string, type: string, ts: number) => ({ streamId: `customer-${id}`, type, data: { id, ts }, metadata: { source: 'mqtt' } });
    const decision = (id: string, ts: number) => ({
      streamId: `customer-${id}`,
      type: 'no_prediction',
      data: { customer_id: id, ts },
      metadata: { source: 'output' },
    });
    await log.append([e('1', 'entry', 100), e('1', 'focus', 101), decision('1', 101), e('1', 'focus', 102)]);
    await log.append([e('2', 'entry', 100), e('2', 'focus', 101)]);
    await log.append([e('3', 'entry', 100), e('3', 'exit', 101), e('3', 'entry', 102), e('3', 'focus', 103)]);
    await log.append([e('4', 'entry', 100), e('4', 'focus', 104)]);
    const machine = { machine: 'session', version: 'aaaa.1' };
    const snap = (id: string, machineVersion: string, version: number) => ({
      streamId: `customer-${id}`,
      machine: 'session',
      machineVersion,
      version,
      state: { at: version, id },
    });
    await log.snapshots?.save([snap('1', 'aaaa.1', 2), snap('1', 'bbbb.1', 3), snap('2', 'bbbb.1', 2), snap('3', 'aaaa.1', 1)]);
    if (!log.snapshots) return;
    assert.equal(await q.restorePoints(4000, machine), [
      { streamId: 'customer-1', snapshot: { version: 2, machineVersion: 'aaaa.1', state: { at: 2, id: '1' } }, events: ['3:no_prediction', '4:focus'] },
      { streamId: 'customer-2', ignored: { machineVersion: 'bbbb.1', version: 2 }, events: ['1:entry', '2:focus'] },
      // its snapshot is of the visit before its exit
      { streamId: 'customer-3', events: ['3:entry', '4:focus'] },
      { streamId: 'customer-4', events: ['1:entry', '2:focus'] },
    ]);
  });

  s('waiting for other writers ends', async () => {
    await quiet(log, 1000);
    await log.queries?.quiet?.(1000);
  });

  s('a log with its own versions of the queries ran every one of them above', () => {
    assert.equal([...ranFast].sort(), hasQueries.filter((k) => k !== 'quiet').sort());
  });
  s.run();
}
