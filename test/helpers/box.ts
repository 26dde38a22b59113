import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/clock.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { startBox, type Box, type BoxOptions } from '../../src/main.js';

export interface TestBox extends Box {
  dataDir: string;
  logLines: string[];
  /** GET a path; returns status and body text. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string; type: string | null }>;
  /** Stops the box and deletes its data. */
  dispose(): Promise<void>;
}

export function tempDir(prefix = 'smsbox-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestBoxOptions {
  config?: (c: Config) => void;
  dataDir?: string;
  clock?: Clock;
  /**
   * How long the virtual HAT takes to boot. By default a minute: the box
   * accepts and queues while its modem is still starting, so tests of the
   * HTTP side see messages stay queued. End-to-end tests pass a few ms.
   */
  simulatorBootMs?: number;
  modemTimings?: BoxOptions['modemTimings'];
  simulator?: BoxOptions['simulator'];
  clockProbe?: BoxOptions['clockProbe'];
  configProblem?: BoxOptions['configProblem'];
  modemIdentity?: BoxOptions['modemIdentity'];
  selftestTimeoutMs?: BoxOptions['selftestTimeoutMs'];
  update?: BoxOptions['update'];
}

export async function startTestBox(opts: TestBoxOptions = {}): Promise<TestBox> {
  const config = defaultConfig();
  // The box's own balance SMS to the carrier (issue 17) stays out of tests about other things:
  // once the driver reads the IMSI it would be one more transmitted SMS. Tests of it turn it on.
  config.sim.checkBalance = false;
  opts.config?.(config);
  const dataDir = opts.dataDir ?? tempDir();
  const logLines: string[] = [];
  const box = await startBox({
    config,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    log: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
    ...(opts.clock ? { clock: opts.clock } : {}),
    simulatorBootMs: opts.simulatorBootMs ?? 60_000,
    ...(opts.modemTimings ? { modemTimings: opts.modemTimings } : {}),
    ...(opts.simulator ? { simulator: opts.simulator } : {}),
    ...(opts.clockProbe ? { clockProbe: opts.clockProbe } : {}),
    ...(opts.configProblem ? { configProblem: opts.configProblem } : {}),
    ...(opts.modemIdentity ? { modemIdentity: opts.modemIdentity } : {}),
    ...(opts.selftestTimeoutMs !== undefined ? { selftestTimeoutMs: opts.selftestTimeoutMs } : {}),
    ...(opts.update ? { update: opts.update } : {}),
  });
  return Object.assign(box, {
    dataDir,
    logLines,
    async get(path: string, headers: Record<string, string> = {}) {
      const res = await fetch(`${box.url}${path}`, { headers });
      return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
    },
    async dispose() {
      await box.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export function basicAuth(password: string, user = 'admin'): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** Runs a test against a fresh box (built-in defaults, optionally changed) and always disposes of it. */
export async function withBox(run: (box: TestBox) => Promise<void>, config?: (c: Config) => void): Promise<void> {
  const box = await startTestBox(config ? { config } : {});
  try {
    await run(box);
  } finally {
    await box.dispose();
  }
}
