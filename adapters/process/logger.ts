/**
 * The one root logger. Human-readable on a TTY, JSON otherwise; LOG_FILENAME adds a JSON file.
 * Secrets are redacted by key and scrubbed from URLs, so no password or token reaches a line.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

const REDACT_KEYS = ['password', 'token', 'secret', 'authorization', 'MQTT_PASSWORD', 'ESS_API_TOKEN', 'apiToken', 'passphrase'];

/** `scheme://user:pass@host` → `scheme://user:***@host`, and `?password=…` → `?password=***`. */
export function scrubUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/gi, '$1:***@').replace(/([?&](?:password|token|secret|sig|ticket)=)[^&\s]*/gi, '$1***');
}

export interface LoggerOptions {
  level?: string;
  file?: string;
  /** Force JSON (true) or pretty (false); default: pretty only on a TTY. */
  json?: boolean;
  /** Extra destination (tests capture lines here). */
  stream?: DestinationStream;
  secrets?: string[];
  /** Write to stdout (default true); tests keep only their capture stream. */
  stdout?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s && s.length >= 3);
  const scrub = (s: string) => {
    let out = scrubUrl(s);
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
  const streams: pino.StreamEntry[] = [];
  const json = opts.json ?? !process.stdout.isTTY;
  const wrap = (dest: DestinationStream): DestinationStream => ({ write: (line: string) => dest.write(scrub(line)) });
  if (opts.stdout !== false)
    streams.push({
      level: 'trace',
      stream: wrap(
        json ? pino.destination({ fd: 1, sync: true }) : pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }),
      ),
    });
  // written synchronously: a line logged just before a crash or process.exit is in the file
  if (opts.file) streams.push({ level: 'trace', stream: wrap(pino.destination({ dest: opts.file, append: true, mkdir: true, sync: true })) });
  if (opts.stream) streams.push({ level: 'trace', stream: wrap(opts.stream) });
  return pino(
    { level: opts.level ?? 'info', redact: { paths: [...REDACT_KEYS, ...REDACT_KEYS.map((k) => `*.${k}`)], censor: '***' }, base: { app: 'storeflow' } },
    pino.multistream(streams),
  );
}

/** A logger that writes nothing (pure unit tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
