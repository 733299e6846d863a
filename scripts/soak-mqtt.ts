/** The soak's MQTT clients of its own broker (mqtt.js, MQTT 5, persistent sessions), noting what they go through. */
import mqtt, { type MqttClient } from 'mqtt';

export interface Topics {
  enter: string;
  focus: string;
  exit: string;
  prediction: string;
}

/** Where the soak notes what its clients went through (its own log file). */
export type Note = (line: string) => void;

export function client(url: string, clientId: string, note: Note): Promise<MqttClient> {
  // MQTT 5 as storeflow speaks it; a persistent session (clean=false, kept an hour) so a reconnect resumes it
  return mqtt
    .connectAsync(url, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 250,
      connectTimeout: 5000,
      keepalive: 10,
      log: () => {},
    })
    .then((c) => {
      const noDelay = () => (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      noDelay();
      c.on('connect', (p) => {
        noDelay();
        note(`${clientId}: connected (session present: ${p.sessionPresent})`);
      });
      c.on('close', () => note(`${clientId}: connection closed`));
      c.on('error', (err) => note(`${clientId}: error ${err.message}`));
      c.on('disconnect', (p) => note(`${clientId}: DISCONNECT from the broker (reason ${p.reasonCode})`));
      return c;
    });
}
