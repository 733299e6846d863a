/**
 * The detector role: its processor registered with the pipeline (entry, move, exit from MQTT or the
 * local simulator in; focus and browsing events out, logged, published on FOCUS_TOPIC /
 * BROWSING_TOPIC and handed to a recommender of the same process), its metrics and its routes.
 */
import type { RoleFactory, RoleHandle } from '../process/role.ts';
import type { ActorRegistry } from '../../actors/kernel/actor-registry.ts';
import type { focusDetectorMachine } from '../../machines/focus-detector.ts';
import { DETECTOR_MACHINE, DetectorProcessor } from './processor.ts';
import { SnapshotCadence } from '../engine/snapshot-cadence.ts';
import { loggedInputId } from '../process/processor-contract.ts';
import { detectorRoutes } from './routes.ts';
import { recoverWalks } from './recovery.ts';

export interface DetectorHandle extends RoleHandle {
  shoppers: ActorRegistry<typeof focusDetectorMachine>;
}

export const detectorRole: RoleFactory = async (ctx) => {
  const { config, metrics, pipeline } = ctx;
  const log = ctx.log.child({ role: 'detector' });
  const m = {
    focus: metrics.counter('storeflow_focus_detected_total', 'Focus events detected from movement', ['department']),
    browsing: metrics.counter('storeflow_browsing_detected_total', 'Browsing events detected from movement'),
    shoppers: metrics.gauge('storeflow_detector_shoppers', 'Customers the detector is tracking'),
  };
  const d = config.detector;
  const settings = {
    focusMinMoves: d.focusMinMoves,
    browsingMinMoves: d.browsingMinMoves,
    browsingRadius: d.browsingRadius,
    idleTimeoutS: config.recommender.idleTimeoutS,
  };
  // the log records the settings detection depends on, how a detected focus reaches a recommender here (locally,
  // or back through the broker as an input) and that walks are recovered, so replay can do the same
  await ctx.eventLog.append([
    {
      streamId: 'process',
      type: 'detector_started',
      metadata: { source: 'system' },
      data: {
        settings: { focusMinMoves: d.focusMinMoves, browsingMinMoves: d.browsingMinMoves, browsingRadius: d.browsingRadius },
        handOff: pipeline.handOffLocally ? 'local' : 'broker',
        // the walks of shoppers still in the store go on across this start (a log without it: they started again)
        recoversWalks: true,
      },
    },
  ]);
  // detectors and their footsteps snapshotted beside the log, every so many moves (docs/snapshots.md)
  const snapshots =
    ctx.eventLog.snapshots &&
    new SnapshotCadence({
      store: ctx.eventLog.snapshots,
      machine: DETECTOR_MACHINE,
      onError: (err) => log.warn({ err }, 'could not write detector snapshots (a restart reads more of the log)'),
    });
  const processor = new DetectorProcessor({
    settings,
    snapshots,
    topics: config.topics,
    inspect: ctx.inspect,
    onCreated: () => m.shoppers.inc(),
    onEnded: () => m.shoppers.dec(),
    onError: (id, err) => log.error({ err, customer: id }, 'detector actor failed'),
  });
  pipeline.register({
    processor,
    name: 'detector',
    onLogged: (outputs, input) => {
      // a snapshot taken after the input is written once its outputs are logged
      snapshots?.logged(loggedInputId(input.logged), outputs.length);
      for (const o of outputs) {
        const e = o.event;
        if (e?.kind === 'focus') m.focus.inc({ department: e.dep });
        else if (e?.kind === 'browsing') m.browsing.inc();
      }
    },
    // the shoppers still in the store walk on from where they were: their dwell counted before a restart still counts
    async recover() {
      const started = Date.now();
      const recovery = await recoverWalks(ctx.eventLog, processor, { idleTimeoutS: settings.idleTimeoutS });
      if (recovery.ignored)
        log.warn(
          { shoppers: recovery.ignored, machineVersion: processor.machine.version },
          'snapshots of another detector version ignored: those walks are made from their events',
        );
      if (recovery.shoppers)
        log.info(
          { shoppers: recovery.shoppers, fromSnapshots: recovery.restored, inputs: recovery.inputs.length, ms: Date.now() - started },
          'shoppers followed again from the event log',
        );
      return recovery;
    },
  });
  log.info({ focusMinMoves: d.focusMinMoves, browsingMinMoves: d.browsingMinMoves, browsingRadius: d.browsingRadius }, 'detector ready');
  const handle: DetectorHandle = {
    shoppers: processor.shoppers,
    routes: detectorRoutes(processor, settings),
    async stop() {
      processor.stop();
      await snapshots?.flush();
    },
  };
  return handle;
};
