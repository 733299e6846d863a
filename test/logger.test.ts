/** No secret (password, token) ever appears in a log line, whatever shape it arrives in. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, scrubUrl } from '../adapters/process/logger.ts';
import { secretValues } from '../adapters/process/app.ts';

function capture(secrets: string[]) {
  const lines: string[] = [];
  const log = createLogger({
    level: 'trace',
    json: true,
    stdout: false,
    secrets,
    stream: {
      write: (l: string) => {
        lines.push(l);
      },
    },
  });
  return { log, text: () => lines.join('') };
}

test('secrets from the environment are scrubbed from every field, message and error', () => {
  const env = {
    MQTT_PASSWORD: 's3cr3t-mqtt',
    ESS_API_TOKEN: 'tok-123456',
    DATABASE_URL: 'postgres://app:db-p%40ss@db:5432/x',
    AMQP_URL: 'amqp://guest:rabbit-pw@127.0.0.1:5672',
  };
  const { log, text } = capture(secretValues(env));
  log.info({ password: 's3cr3t-mqtt', nested: { token: 'tok-123456' } }, 'by key');
  log.info({ url: 'amqp://guest:rabbit-pw@127.0.0.1:5672', db: env.DATABASE_URL }, 'in URLs');
  log.warn(`connecting with s3cr3t-mqtt and tok-123456`);
  log.error({ err: new Error('auth failed for db-p@ss (rabbit-pw)') }, 'in an error');
  log.child({ apiToken: 'tok-123456' }).info('in a child binding');
  const out = text();
  for (const s of ['s3cr3t-mqtt', 'tok-123456', 'db-p@ss', 'db-p%40ss', 'rabbit-pw']) assert.not.ok(out.includes(s), `${s} leaked:\n${out}`);
  assert.ok(out.includes('***'), 'redacted values are marked');
  assert.is(out.trim().split('\n').length, 5, 'every line still written');
});

test('URLs keep their user and host, lose their password', () => {
  assert.is(scrubUrl('mqtts://user:pw@broker:8883'), 'mqtts://user:***@broker:8883');
  assert.is(scrubUrl('http://h/score?token=abc&x=1'), 'http://h/score?token=***&x=1');
  assert.is(scrubUrl('postgres://postgres@127.0.0.1:5432/test'), 'postgres://postgres@127.0.0.1:5432/test');
});

test('LOG_FILENAME keeps every line written before a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'storeflow-log-'));
  const file = join(dir, 'storeflow.log');
  try {
    const script = `import { createLogger } from './adapters/process/logger.ts';
      const log = createLogger({ level: 'info', json: true, stdout: false, file: ${JSON.stringify(file)} });
      for (let i = 1; i <= 77; i++) log.error({ i }, 'failure');
      setImmediate(() => { throw new Error('crash'); });`;
    const code = await new Promise<number | null>((ok) =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' }).on('exit', ok),
    );
    assert.is(code, 1, 'the process crashed');
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(
      lines.map((l) => l.i),
      Array.from({ length: 77 }, (_, k) => k + 1),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
