import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultConfig, loadConfigWithFallback } from '../config/config.js';
import { MIGRATIONS } from '../store/migrations.js';
import { UpdateApplier, HEALTH_TIMEOUT_MS } from './apply.js';
import { loadPrivateKey, writeBundle } from './bundle.js';
import { ROOT_STATE_DIR } from './files.js';
import { systemPlatform } from './platform.js';
import { SLOTS_ROOT } from './slots.js';

/**
 * `smsbox update-apply`: the root side of an update, run by
 * smsbox-update.service (when the app leaves a request, and at every boot to
 * finish one a power cut interrupted).
 */
export async function updateApplyCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      data: { type: 'string' },
      state: { type: 'string' },
      slots: { type: 'string' },
      key: { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  if (process.getuid?.() !== 0) {
    print('smsbox update-apply 需要 root 权限（由 smsbox-update.service 运行）/ must run as root (smsbox-update.service runs it)');
    return 2;
  }
  const configFile = args.config ?? '/boot/firmware/smsbox.toml';
  const fallback = loadConfigWithFallback(configFile, (config) => join(args.data ?? config?.storage.dataDir ?? defaultConfig().storage.dataDir, 'config.last-good.toml'));
  const config = fallback.config;
  const dataDir = args.data ?? config.storage.dataDir;
  const timeoutS = Number(args.timeout ?? process.env['SMSBOX_UPDATE_HEALTH_TIMEOUT_S'] ?? HEALTH_TIMEOUT_MS / 1000);
  const applier = new UpdateApplier({
    dataDir,
    stateDir: args.state ?? ROOT_STATE_DIR,
    slotsRoot: args.slots ?? SLOTS_ROOT,
    healthTimeoutMs: (Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS : HEALTH_TIMEOUT_MS / 1000) * 1000,
    platform: systemPlatform({ config, dataDir, ...(args.key ? { keyFile: args.key } : {}), log: (line) => print(`smsbox-update: ${line}`) }),
  });
  const result = await applier.run();
  if (!result) {
    print('smsbox-update: nothing to do');
    return 0;
  }
  print(`smsbox-update: ${result.outcome}: ${result.message_en}`);
  return result.outcome === 'updated' ? 0 : 1;
}

/**
 * `smsbox update-pack`: signs a payload (tar.gz of the app) into an update
 * bundle. Used by image/bundle (`npm run bundle`); the private key comes from
 * a file outside the repository.
 */
export async function updatePackCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      payload: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      version: { type: 'string' },
      commit: { type: 'string' },
      arch: { type: 'string' },
      'node-abi': { type: 'string' },
    },
    strict: true,
  });
  const missing = (['payload', 'key', 'out', 'version', 'commit', 'arch', 'node-abi'] as const).filter((name) => !args[name]);
  if (missing.length > 0) {
    print(`usage: smsbox update-pack --payload APP.tar.gz --key PRIVATE.pem --out FILE --version V --commit C --arch arm64 --node-abi N (missing: ${missing.join(', ')})`);
    return 2;
  }
  const manifest = await writeBundle(args.out!, args.payload!, {
    version: args.version!,
    commit: args.commit!,
    created_at: new Date().toISOString(),
    platform: 'linux',
    arch: args.arch!,
    node_abi: args['node-abi']!,
    schema: MIGRATIONS.length,
  }, loadPrivateKey(readFileSync(args.key!)));
  print(JSON.stringify(manifest, null, 1));
  return 0;
}
