/**
 * The simulator's routes (seed 001): its state, start and stop, live settings, the /produce_* endpoints and the
 * scenario player's paths. Here the requests are checked and answered; what they do to the simulation is the
 * role's (index.ts), through SimulatorRouteDeps.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../process/role.ts';
import { AppError } from '../process/errors.ts';
import { LIMITS } from '../../schemas/limits.ts';
import { compile } from '../../schemas/normalise.ts';
import { EntryEvent, MoveEvent } from '../../schemas/messages.ts';
import type { StalePolicy, Timeline } from '../../actors/simulator/timeline.ts';
import { expandDraft, expandScenario, type ExpandedScenario } from '../../actors/simulator/scenario.ts';
import { stateTimestamp } from '../../actors/simulator/state-at.ts';

export interface SimulatorSettings {
  speed?: number;
  averageInStore?: number;
  batchSize?: number;
  consumeFrequencyS?: number;
  staleEvents?: StalePolicy;
}

export type ShopperEventKind = 'entry' | 'move' | 'exit';

export interface SimulatorRouteDeps {
  /** Simulated time now (ms since the epoch). */
  simNow(): number;
  running(): boolean;
  timeline: Timeline;
  /** The settings in force. */
  settings: Required<SimulatorSettings>;
  consumeFrom: string;
  /** Applies a change; returns the settings in force after it. */
  applySettings(s: SimulatorSettings): SimulatorSettings;
  startSimulation(): void;
  stopSimulation(): void;
  /** GET /state: the simulator and the customers in the store. */
  state(): object;
  /** GET /state?timestamp=: the customers' states at `at` (ms). */
  statesAt(at: number): object;
  publish(kind: ShopperEventKind, payload: object): Promise<void>;
  topicOf(kind: ShopperEventKind): string;
  /** A /produce_* event was published: the state view follows the customer it moved. */
  produced(kind: ShopperEventKind, body: { id: string | number; ts: number; x?: number; y?: number }): void;
  maxPayloadBytes: number;
}

const checkEntry = compile(EntryEvent);
const checkMove = compile(MoveEvent);

const Settings = Type.Object(
  {
    speed: Type.Optional(
      Type.Number({
        minimum: 0.001,
        maximum: LIMITS.simSpeed,
        description: `SIM_SPEED: simulated seconds per real second; averageInStore × speed at most ${LIMITS.shopperSpeed}`,
      }),
    ),
    averageInStore: Type.Optional(
      Type.Number({ minimum: 0, maximum: LIMITS.shoppers, description: `CUSTOMERS_AVERAGE_IN_STORE; averageInStore × speed at most ${LIMITS.shopperSpeed}` }),
    ),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'CONSUME_BATCH_SIZE' })),
    consumeFrequency: Type.Optional(Type.Number({ minimum: 0.001, maximum: 3600, description: 'CONSUME_FREQUENCY in seconds' })),
    staleEvents: Type.Optional(Type.Union([Type.Literal('publish'), Type.Literal('drop')], { description: 'STALE_EVENTS' })),
  },
  { additionalProperties: false },
);
const checkSettings = compile(Settings);

export function simulatorRoutes(d: SimulatorRouteDeps): FastifyPluginAsyncTypebox<RouteOptions> {
  /** The scenario player's GET /state?timestamp= (actors/simulator/state-at.ts). */
  const statesAt = (raw: string) => {
    const at = stateTimestamp(raw);
    if (at === undefined) throw new AppError('bad_request', `timestamp: unreadable ${JSON.stringify(raw)} (ISO-8601, or epoch seconds or ms)`);
    return d.statesAt(at);
  };

  const schedule = (s: ExpandedScenario) => {
    for (const st of s.steps) d.timeline.schedule({ kind: st.kind, id: s.customerId, at: st.at, x: st.x, y: st.y, source: 'scenario' });
    return {
      customer_id: s.customerId,
      scheduled: s.steps.length,
      state: d.running() ? 'started' : 'stopped',
      path: s.steps.map((st) => ({
        type: st.kind === 'entry' ? 'ENTER' : st.kind === 'exit' ? 'EXIT' : 'MOVE',
        location: { x: st.x, y: st.y },
        timestamp: Math.floor(st.at / 1000),
        at: new Date(st.at).toISOString(),
      })),
    };
  };

  const produce = (kind: ShopperEventKind) => async (req: { body: unknown }) => {
    const c = kind === 'move' ? checkMove : checkEntry;
    if (!c.check(req.body)) throw new AppError('schema', `${kind} event ${c.error(req.body)}`);
    const body = req.body as { id: string | number; ts: number; x?: number; y?: number };
    await d.publish(kind, body).catch((err) => {
      throw new AppError('unavailable', `could not publish: ${(err as Error).message}`);
    });
    d.produced(kind, body);
    return { status: 'published', topic: d.topicOf(kind), payload: body };
  };

  return async (app, opts) => {
    const own = opts.sharedPaths;
    const prefixed = app.prefix === '/simulator';
    if (own) {
      app.get(
        '/state',
        {
          schema: {
            description:
              "Simulator: state, settings and the customers in the store with their positions and states; with ?timestamp= the scenario player's answer, the customers' states at that time",
            querystring: Type.Object({
              timestamp: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601 (no offset = UTC) or epoch seconds or ms' })),
            }),
          },
        },
        async (req) => (req.query.timestamp === undefined ? d.state() : statesAt(req.query.timestamp)),
      );
      app.post('/start', { schema: { description: 'Simulator: start (or resume) consuming the timeline' } }, async () => {
        d.startSimulation();
        return { state: 'started' };
      });
      app.post('/stop', { schema: { description: 'Simulator: stop (pause) the timeline; shoppers keep their places' } }, async () => {
        d.stopSimulation();
        return { state: 'stopped' };
      });
    }
    if (prefixed) {
      // validated here rather than by the route schema: Fastify would silently strip unknown (misspelt) keys
      // the schema is in the OpenAPI document (with its bounds); the handler validates, hence the no-op validator
      app.post(
        '/settings',
        {
          schema: { description: 'Simulator settings, live: speed (SIM_SPEED), averageInStore, batchSize, consumeFrequency (s), staleEvents', body: Settings },
          validatorCompiler: () => () => true,
        },
        async (req) => {
          if (!checkSettings.check(req.body)) throw new AppError('schema', `settings ${checkSettings.error(req.body)}`);
          const b = req.body as Static<typeof Settings>;
          const shoppers = b.averageInStore ?? d.settings.averageInStore,
            speed = b.speed ?? d.settings.speed;
          if (shoppers * speed > LIMITS.shopperSpeed)
            throw new AppError(
              'schema',
              `averageInStore × speed: ${shoppers} × ${speed} is above ${LIMITS.shopperSpeed} (about ${LIMITS.shopperSpeed / 10} events/s)`,
            );
          return d.applySettings({
            speed: b.speed,
            averageInStore: b.averageInStore,
            batchSize: b.batchSize,
            consumeFrequencyS: b.consumeFrequency,
            staleEvents: b.staleEvents,
          });
        },
      );
      app.get(
        '/settings',
        { schema: { description: 'Simulator settings in force: speed, averageInStore, batchSize, consumeFrequency (s), staleEvents, consumeFrom' } },
        async () => ({ ...d.settings, consumeFrom: d.consumeFrom }),
      );
    }
    const small = { bodyLimit: d.maxPayloadBytes };
    app.post('/produce_entry', { ...small, schema: { description: 'Publish an entry event {id, ts} (seed 001)' } }, produce('entry'));
    app.post('/produce_move', { ...small, schema: { description: 'Publish a move event {id, ts, x, y} (seed 001)' } }, produce('move'));
    app.post('/produce_exit', { ...small, schema: { description: 'Publish an exit event {id, ts} (seed 001)' } }, produce('exit'));
    app.post(
      '/scenario',
      {
        schema: {
          description: 'Schedule a customer path with timestamps (ENTER/MOVE/EXIT); ?recalculate_time=true starts it now',
          querystring: Type.Object({ recalculate_time: Type.Optional(Type.String({ maxLength: 8 })) }),
        },
      },
      async (req) => {
        const recalc = /^(true|1|yes)$/i.test(String(req.query.recalculate_time ?? ''));
        const r = expandScenario(req.body, d.simNow(), recalc);
        if (!r.ok) throw new AppError('bad_request', `invalid scenario: ${r.problems.join('; ')}`, { problems: r.problems });
        return schedule(r.scenario);
      },
    );
    app.post(
      '/scenario_draft',
      { schema: { description: 'Schedule a path of move/focus steps without timestamps, timed like the original player' } },
      async (req) => {
        const r = expandDraft(req.body, d.simNow());
        if (!r.ok) throw new AppError('bad_request', `invalid scenario draft: ${r.problems.join('; ')}`, { problems: r.problems });
        return schedule(r.scenario);
      },
    );
  };
}
