/**
 * The start-up log's examples, on the ports this process actually listens on: with a default port taken, storeflow
 * falls back to another (port-check.ts), and an example on 1883 would reach whatever broker holds 1883.
 */
import type { Config } from '../../schemas/env.ts';
import { localAddress } from '../edges/ports.ts';

/** `url`: the control plane; `brokerPort`: the embedded broker's, when there is one (an external one's URL may hold a password). */
export function tryCommands(config: Config, url: string, brokerPort?: number): Record<string, string> {
  const out: Record<string, string> = { dashboard: `${url}/`, health: `curl ${url}/healthcheck` };
  if (brokerPort !== undefined) {
    const mqtt = `-h ${localAddress(config.host)} -p ${brokerPort}`;
    out.watch = `mosquitto_sub ${mqtt} -t '${config.topics.prediction}' -v`;
    out.enter = `mosquitto_pub ${mqtt} -t '${config.topics.enter}' -m '{"id": "100", "ts": 1764000000}'`;
    out.focus = `mosquitto_pub ${mqtt} -t '${config.topics.focus}' -m '{"id": "100", "ts": 1764000060, "dep": "Boys"}'`;
  }
  return out;
}
