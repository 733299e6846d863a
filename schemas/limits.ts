/**
 * Upper bounds of the settings anyone with control-plane access can change live
 * (POST /simulator/settings, POST /pump/settings), sized for a real store and for what one process
 * absorbs. Measured here with every role in one process: 2,000 shoppers at speed 60 generated more
 * than the pipeline logs (1.16 GB after 20 s), at speed 5 ~1,000 events/s with memory flat; the pump
 * at 2,000 focus/s (~3,300 logged events/s with the predictions) stops in ~10 ms, at 5,000/s in ~1.4 s.
 * The environment (SIM_SPEED, CUSTOMERS_AVERAGE_IN_STORE, PUMP_RATE, EVENTS_PER_TICK, …) is the
 * operator's and is not held to these (bench:pump runs the pump flat out).
 */
export const LIMITS = {
  /** averageInStore: a large hypermarket at its busiest. */
  shoppers: 2_000,
  /** speed: simulated seconds per real second (1,000 = a day in under a minute and a half). */
  simSpeed: 1_000,
  /** averageInStore × speed: ~0.1 events/s each, so ~1,000 events/s. */
  shopperSpeed: 10_000,
  /** Pump: focus events per second (rate, and events_per_tick / interval_s). */
  pumpRate: 2_000,
} as const;
