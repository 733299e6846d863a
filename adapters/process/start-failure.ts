/**
 * A dependency storeflow cannot reach at start-up, said in one line that names the variable to check: the
 * driver's own error ("connect ECONNREFUSED 127.0.0.1:2", with a stack) names neither the variable nor the service.
 */
import { scrubUrl } from './logger.ts';

/** An error whose message is the whole story: logged as one line, without a stack. */
export class StartFailure extends Error {}

/** What the driver said, in words: the code's meaning, then the driver's message. */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const message = e?.message ?? String(err);
  if (e?.code === 'ECONNREFUSED') return `connection refused (nothing listens there): ${message}`;
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') return `host name not found: ${message}`;
  if (e?.code === 'ETIMEDOUT') return `no answer (timed out): ${message}`;
  return message;
}

/** DATABASE_URL (password hidden) could not be used, and why. */
export function databaseUnreachable(url: string, err: unknown): StartFailure {
  return new StartFailure(`cannot connect to PostgreSQL at DATABASE_URL=${scrubUrl(url)}: ${reason(err)}. Is it running, and is DATABASE_URL right?`, {
    cause: err,
  });
}
