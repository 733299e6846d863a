/**
 * What a log says its decisions were made with — the model (a content hash), the catalogue, the customer table (the
 * store data) and the settings, named in `recommender_started` at each start and `catalogue_loaded` at each `/reload` —
 * gathered while a replay reads the log, for the replay to say which of them is not its own when it cannot reproduce.
 */
import type { ExportedEvent } from '../../actors/kernel/event-log.ts';

/** The sources in force: named by the last start, the catalogue and customers by the last reload since. */
interface InForce {
  scorer?: string;
  model?: string;
  catalogue?: string;
  customerTable?: string;
}

/** One kind of source: the values the log's decisions were made with, and whether some were made under a record that names none. */
export interface Named {
  logged: string[];
  unnamed: boolean;
}

export interface LoggedSources {
  model: Named;
  catalogue: Named;
  customerTable: Named;
  /** Decisions by a remote scorer (COUPON_SCORER_URL), which no replay can score again. */
  remote: boolean;
  /** Decisions made before any `recommender_started` in the log (a partial export from before exports carried it): their settings are this replay's. */
  settingsUnnamed: boolean;
}

export class SourcesSeen {
  private inForce: InForce | undefined;
  /** The records in force when decisions were logged (each a fresh object per start or reload: few). */
  private used = new Set<InForce | undefined>();

  /** A `recommender_started` or `catalogue_loaded` record: the sources in force from here on. */
  note(e: ExportedEvent): void {
    const d = e.data ?? {};
    if (e.type === 'recommender_started') this.inForce = { scorer: d.scorer, model: d.model, catalogue: d.catalogue, customerTable: d.customerTable };
    else if (e.type === 'catalogue_loaded') this.inForce = { ...this.inForce, catalogue: d.catalogue, customerTable: d.customerTable };
  }

  /** A decision was logged under the sources in force. */
  decided(): void {
    this.used.add(this.inForce);
  }

  report(): LoggedSources {
    const named = (key: 'model' | 'catalogue' | 'customerTable', skip: (f: InForce) => boolean = () => false): Named => {
      const logged = new Set<string>();
      let unnamed = false;
      for (const f of this.used) {
        if (f && skip(f)) continue;
        const v = f?.[key];
        if (typeof v === 'string') logged.add(v);
        else unnamed = true;
      }
      return { logged: [...logged], unnamed };
    };
    const used = [...this.used];
    return {
      model: named('model', (f) => f.scorer === 'remote'),
      catalogue: named('catalogue'),
      customerTable: named('customerTable'),
      remote: used.some((f) => f?.scorer === 'remote'),
      settingsUnnamed: used.includes(undefined),
    };
  }
}
