/**
 * What a log has archived (`npm run archive`, docs/archive.md): positions below `before` were moved to compressed NDJSON
 * files, except the events of visits still open at each cut, which the log keeps until a later archive. A reader asked
 * for an archived position is told which file holds it, never handed fewer events without a word.
 */

/** One archive: the positions below `before` (and at or above the previous archive's) are in `file`. */
export interface ArchiveFile {
  before: number;
  file: string;
}

export interface ArchivedMark {
  /** The lowest position the log still holds in full: every position below it is in a file (or kept, its visit open then). */
  before: number;
  /** Oldest first. */
  files: ArchiveFile[];
  /** What the last archive was asked for: history recorded before this time (epoch ms). */
  beforeMs: number;
}

/** The file that holds `position` (the first archive whose cut is above it). */
export function fileOf(mark: ArchivedMark, position: number): string | undefined {
  return mark.files.find((f) => position < f.before)?.file;
}

/** What a read from `position` is told when it is archived (undefined: the log holds it). */
export function archivedNotice(mark: ArchivedMark | undefined, position: number): string | undefined {
  if (!mark || position >= mark.before) return undefined;
  const files = mark.files.filter((f) => f.before > position).map((f) => f.file);
  return (
    `positions ${position} to ${mark.before - 1} are archived (${files.join(', ')}): the log holds position ${mark.before} on, ` +
    'and the events of visits still open when they were archived'
  );
}

/**
 * What a replay from a position (`ordinal`) or a time (`ms`) is told when it asks for archived history (undefined: the
 * log holds it): the notice, and the position the archived history ends at.
 */
export function archivedStart(mark: ArchivedMark | undefined, start: { position: number } | { ms: number }): string | undefined {
  if (!mark) return undefined;
  if ('position' in start) return archivedNotice(mark, Math.max(1, start.position));
  return start.ms < mark.beforeMs ? archivedNotice(mark, 1) : undefined;
}

/** A stream's archived versions: up to `version`, the last in `file`. */
export interface ArchivedStream {
  version: number;
  file: string;
}

export function archivedStreamNotice(streamId: string, afterVersion: number, a: ArchivedStream | undefined): string | undefined {
  if (!a || afterVersion >= a.version) return undefined;
  return `${streamId}: versions ${afterVersion + 1} to ${a.version} are archived (the last in ${a.file}): the log holds version ${a.version + 1} on`;
}
