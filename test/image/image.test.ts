// The SD-card image's files, checked without building the image: the boot
// partition's config as the shop's Notepad leaves it, and the boot/system files
// the HAT and the SD card depend on. Runs in well under a second, no root.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'smol-toml';
import { ConfigError, defaultConfig, loadConfig, type Config } from '../../src/config/config.js';
import { packageRoot } from '../../src/paths.js';

const image = (...parts: string[]) => join(packageRoot, 'image', ...parts);
const read = (...parts: string[]) => readFileSync(image(...parts), 'utf8');
const BOM = '\uFEFF';

/** The boot partition's smsbox.toml exactly as image/build writes it. */
const bootConfigText = (): string =>
  execFileSync('bash', [image('make-boot-config')], { input: readFileSync(image('smsbox.toml')), encoding: 'utf8' });

/** Writes text to a fresh temp file and loads it the way the box does. */
function loadText(text: string): Config {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-image-test-'));
  try {
    const file = join(dir, 'smsbox.toml');
    writeFileSync(file, text);
    return loadConfig(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const withoutFile = (config: Config) => ({ ...config, file: null });

// Imported before any test is declared (ava needs tests declared synchronously).
interface Rendered {
  files: Record<string, string>;
  country: string | null;
  messages: string[];
}
const netconfig = (await import(pathToFileURL(image('rootfs/usr/local/lib/smsbox/netconfig.mjs')).href)) as {
  renderNetwork: (settings: unknown) => Rendered;
};

/** Minimal systemd unit reader: section → key → every value assigned (in order). */
function unit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1]!) ?? new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}
const words = (values: string[] | undefined) => (values ?? []).join(' ').split(/\s+/).filter(Boolean);

test('the shipped smsbox.toml saved by Notepad (CRLF and a BOM) still gives exactly the built-in defaults', (t) => {
  const shipped = read('smsbox.toml');
  t.regex(shipped, /[\u4e00-\u9fff]/, 'the file has Chinese comments to survive');
  const notepad = BOM + shipped.replace(/\r?\n/g, '\r\n');
  t.deepEqual(withoutFile(loadText(notepad)), withoutFile(defaultConfig()));
});

test('the boot partition copy: CRLF, every comment kept, and only port, HAT device and data folder changed', (t) => {
  const boot = bootConfigText();
  const lines = boot.split('\n');
  t.true(lines.slice(0, -1).every((line) => line.endsWith('\r')), 'every line ends in CRLF for old Notepad');
  const shipped = read('smsbox.toml').split('\n');
  t.is(lines.length, shipped.length, 'no line added or lost');
  const changed = lines.map((line, i) => [line.replace(/\r$/, ''), shipped[i]!] as const).filter(([a, b]) => a !== b);
  t.deepEqual(
    changed.map(([line]) => line.replace(/\s+#.*/, '')),
    ['port = 80', 'device = "/dev/serial0"', 'data_dir = "/var/lib/smsbox"'],
  );
  for (const [line, before] of changed) {
    t.is(line.slice(line.indexOf('#')), before.slice(before.indexOf('#')), 'the comment after the value is kept');
  }

  const config = loadText(BOM + boot);
  t.is(config.http.port, 80);
  t.is(config.modem.device, '/dev/serial0');
  t.is(config.storage.dataDir, '/var/lib/smsbox');
  const expected = defaultConfig();
  expected.http.port = 80;
  expected.modem.device = '/dev/serial0';
  expected.storage.dataDir = '/var/lib/smsbox';
  t.deepEqual(withoutFile(config), withoutFile(expected));
});

test('a wrong value in a CRLF + BOM file is reported on the line Notepad shows', (t) => {
  const lines = (BOM + bootConfigText()).split('\r\n');
  const index = lines.findIndex((line) => line.startsWith('max_per_hour'));
  lines[index] = 'max_per_hour = "很多"           # 中文注释 / a Chinese comment';
  const err = t.throws(() => loadText(lines.join('\r\n')), { instanceOf: ConfigError });
  t.is(err.line, index + 1);
});

test('make-boot-config refuses input that lacks a key it must set', (t) => {
  const input = read('smsbox.toml').replace(/^device = .*$/m, '');
  t.throws(() => execFileSync('bash', [image('make-boot-config')], { input, stdio: 'pipe' }));
});

test('smsbox.service: after local file systems, restarts, port 80 by capability, not root, dialout + gpio, clean stop', (t) => {
  const u = unit(read('rootfs/etc/systemd/system/smsbox.service'));
  const s = u.get('Service')!;
  t.true(words(u.get('Unit')!.get('After')).includes('local-fs.target'));
  t.deepEqual(s.get('Restart'), ['on-failure']);
  t.true(words(s.get('AmbientCapabilities')).includes('CAP_NET_BIND_SERVICE'));
  t.deepEqual(words(s.get('CapabilityBoundingSet')), ['CAP_NET_BIND_SERVICE'], 'no capability beyond port binding');
  t.truthy(s.get('User'));
  t.not(s.get('User')![0], 'root');
  t.deepEqual(words(s.get('SupplementaryGroups')).sort(), ['dialout', 'gpio', 'systemd-journal'], 'the journal: the previous run\u2019s log tail');
  t.deepEqual(s.get('KillSignal'), ['SIGTERM']);
  // Large freed blocks (scrypt's 16 MiB) go back to the system instead of staying resident.
  t.true(s.get('Environment')!.includes('MALLOC_MMAP_THRESHOLD_=1048576'));
  t.true(s.get('Environment')!.includes('MALLOC_TRIM_THRESHOLD_=8388608'), 'without it glibc trims on every request');
  t.true(Number(s.get('TimeoutStopSec')?.[0]) >= 10, 'time to finish the command in flight and checkpoint');
  const exec = words(s.get('ExecStart'));
  t.is(exec[0], '/usr/bin/node');
  t.is(exec[exec.indexOf('--config') + 1], '/boot/firmware/smsbox.toml');
  t.is(exec[exec.indexOf('--data') + 1], '/var/lib/smsbox');
  t.deepEqual(u.get('Install')!.get('WantedBy'), ['multi-user.target']);
});

test('watchdogs: smsbox.service is Type=notify with a watchdog, and PID 1 arms the Pi\u2019s hardware watchdog within its 15 s', (t) => {
  const s = unit(read('rootfs/etc/systemd/system/smsbox.service')).get('Service')!;
  t.deepEqual(s.get('Type'), ['notify']);
  // The pings come from systemd-notify, a child of the main process.
  t.deepEqual(s.get('NotifyAccess'), ['all']);
  const seconds = (value: string | undefined) => {
    const m = /^(\d+)(s|min)$/.exec(value ?? '');
    return m ? Number(m[1]) * (m[2] === 'min' ? 60 : 1) : NaN;
  };
  const watchdog = seconds(s.get('WatchdogSec')?.[0]);
  t.true(watchdog >= 20 && watchdog <= 120, `WatchdogSec ${s.get('WatchdogSec')?.[0]}: room for a slow Pi, a restart within minutes`);
  t.true(seconds(s.get('TimeoutStartSec')?.[0]) >= 120, 'a slow card\u2019s start (READY=1 comes when HTTP answers)');
  const manager = unit(read('rootfs/etc/systemd/system.conf.d/smsbox-watchdog.conf')).get('Manager')!;
  const hardware = seconds(manager.get('RuntimeWatchdogSec')?.[0]);
  // bcm2835-wdt counts 0xfffff ticks of 1/65536 s at most: 15 s.
  t.true(hardware > 0 && hardware <= 15, `RuntimeWatchdogSec ${manager.get('RuntimeWatchdogSec')?.[0]}`);
});

test('config.txt: UART on, Bluetooth off the PL011, power button; cmdline.txt: no serial console, root by label', (t) => {
  const config = read('boot/config.txt')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  t.true(config.includes('enable_uart=1'));
  t.true(config.includes('dtoverlay=disable-bt'));
  t.true(config.includes('dtoverlay=gpio-shutdown'), 'the power button');
  t.true(config.includes('arm_64bit=1'));
  const cmdline = read('boot/cmdline.txt');
  t.is(cmdline.trim().split('\n').length, 1, 'the firmware reads one line');
  const args = cmdline.trim().split(/\s+/);
  const consoles = args.filter((a) => a.startsWith('console='));
  t.true(consoles.length > 0);
  t.true(consoles.every((c) => c === 'console=tty1'), `only the screen, never the HAT's UART: ${consoles.join(' ')}`);
  t.true(args.includes('root=LABEL=RASPIROOT'));
  t.false(args.some((a) => /^kgdboc=/.test(a)));
});

test('after a kernel upgrade Debian\'s raspi-firmware hook regenerates the same UART settings', (t) => {
  // The hook sources this file as shell; CONSOLES becomes console= arguments.
  const defaults = read('rootfs/etc/default/raspi-firmware');
  const consoles = /^CONSOLES="([^"]*)"$/m.exec(defaults)?.[1];
  t.is(consoles, 'tty1');
  t.regex(defaults, /^ROOTPART="LABEL=RASPIROOT"$/m);
  const custom = read('rootfs/etc/default/raspi-firmware-custom').split('\n').map((line) => line.trim());
  t.true(custom.includes('dtoverlay=disable-bt'));
  t.true(custom.includes('dtoverlay=gpio-shutdown'));
});

test('udev: GPIO chips to group gpio, the GPIO 14/15 UART to dialout as /dev/serial0', (t) => {
  const rules = read('rootfs/etc/udev/rules.d/60-smsbox-hat.rules')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  t.true(rules.some((r) => r.includes('KERNEL=="gpiochip*"') && r.includes('GROUP="gpio"')));
  for (const tty of ['ttyS1', 'ttyAMA0']) {
    t.true(rules.some((r) => r.includes(`KERNEL=="${tty}"`) && r.includes('GROUP="dialout"') && r.includes('SYMLINK+="serial0"')));
  }
});

test('SD-card care: journal capped (on the data partition, in RAM without it), noatime, no swap', (t) => {
  const journal = unit(read('rootfs/etc/systemd/journald.conf.d/smsbox.conf')).get('Journal')!;
  t.deepEqual(journal.get('Storage'), ['persistent']);
  t.true(Number(/^(\d+)M$/.exec(journal.get('SystemMaxUse')?.[0] ?? '')?.[1]) <= 64, 'the card\u2019s journal is capped');
  t.regex(journal.get('RuntimeMaxUse')?.[0] ?? '', /^\d+M$/);
  const mounts = read('rootfs/etc/fstab')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
  t.false(mounts.some((m) => m[2] === 'swap'));
  for (const m of mounts) t.true(m[3]!.split(',').includes('noatime'), `${m[1]} mounted noatime`);
  t.deepEqual(mounts.map((m) => m[1]).sort(), ['/', '/boot/firmware', '/var/lib/smsbox', '/var/lib/smsbox-data', '/var/log/journal']);
  // The last boots' logs live on the data partition, never on the root file system.
  const journalMount = mounts.find((m) => m[1] === '/var/log/journal')!;
  t.is(journalMount[0], '/var/lib/smsbox-data/journal');
  t.true(journalMount[3]!.split(',').includes('bind'));
  t.true(journalMount[3]!.split(',').includes('x-systemd.requires-mounts-for=/var/lib/smsbox-data'));
  // The bind mount's source is made by the build, readable by the journal's group (the box reads its last run's log).
  t.regex(read('build'), /install -d -o root -g systemd-journal -m 2755 \/var\/lib\/smsbox-data\/journal/);
  // The partitions found by udev after the initramfs (all but root) give a slow
  // boot time: a boot partition that timed out stopped the boot in emergency mode.
  for (const m of mounts.filter((m) => m[0]!.startsWith('LABEL=') && m[1] !== '/')) {
    const timeout = m[3]!.split(',').find((o) => o.startsWith('x-systemd.device-timeout=')) ?? 'none';
    const span = /^x-systemd\.device-timeout=(\d+)(s|min)$/.exec(timeout);
    t.true(Number(span?.[1]) * (span?.[2] === 'min' ? 60 : 1) >= 180, `${m[1]}: ${timeout} leaves a slow boot 3 minutes`);
  }
});

test('the data partition: by label, ext4, bound onto the data folder; the box does not start without it', (t) => {
  const mounts = read('rootfs/etc/fstab')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
  const data = mounts.find((m) => m[1] === '/var/lib/smsbox-data')!;
  t.is(data[0], 'LABEL=smsbox-data');
  t.is(data[2], 'ext4');
  // A missing card partition must not hang the boot (SSH stays reachable)...
  t.true(data[3]!.split(',').includes('nofail'));
  // ...and a slow boot must not give up on it: a mount whose device timed out is
  // never tried again, so the box would not start at all (30 s was too short
  // under qemu's raspi3b: udev named the partition later than that).
  // (systemd's default, 90 s, is not enough either: the option must be there.)
  const timeout = data[3]!.split(',').find((o) => o.startsWith('x-systemd.device-timeout=')) ?? 'none';
  const span = /^x-systemd\.device-timeout=(\d+)(s|min)$/.exec(timeout);
  t.truthy(span, `a device timeout in s or min: ${timeout}`);
  t.true(Number(span?.[1]) * (span?.[2] === 'min' ? 60 : 1) >= 180, `${timeout} leaves a slow boot 3 minutes`);
  const bind = mounts.find((m) => m[1] === '/var/lib/smsbox')!;
  t.is(bind[0], '/var/lib/smsbox-data/smsbox');
  t.true(bind[3]!.split(',').includes('bind'));
  // ...but then the app must not start an empty database on the root file system.
  const u = unit(read('rootfs/etc/systemd/system/smsbox.service'));
  t.true(words(u.get('Unit')!.get('RequiresMountsFor')).includes('/var/lib/smsbox-data'));
  t.true(words(u.get('Unit')!.get('RequiresMountsFor')).includes('/var/lib/smsbox'));
  // The first boot grows the data partition, not the root one.
  const firstboot = read('rootfs/usr/local/sbin/smsbox-firstboot');
  t.regex(firstboot, /findmnt -n -o SOURCE "\$DATA"/);
  t.regex(firstboot, /^DATA=\/var\/lib\/smsbox-data$/m);
});

test('updates: the app runs from /opt/smsbox/current; a root unit started by a path unit applies an update with the code of the good slot', (t) => {
  const app = unit(read('rootfs/etc/systemd/system/smsbox.service'));
  t.is(words(app.get('Service')!.get('ExecStart'))[1], '/opt/smsbox/current/dist/src/cli.js');
  const path = unit(read('rootfs/etc/systemd/system/smsbox-update.path'));
  t.deepEqual(path.get('Path')!.get('PathExists'), ['/var/lib/smsbox/update/request.json']);
  t.deepEqual(path.get('Path')!.get('Unit'), ['smsbox-update.service']);
  const update = unit(read('rootfs/etc/systemd/system/smsbox-update.service'));
  const s = update.get('Service')!;
  t.is(s.get('User'), undefined, 'root: it writes /opt/smsbox and controls smsbox.service');
  const exec = words(s.get('ExecStart'));
  t.deepEqual(exec.slice(0, 3), ['/usr/bin/node', '/opt/smsbox/good/dist/src/cli.js', 'update-apply']);
  t.true(s.get('Environment')!.includes('SMSBOX_UPDATE_HEALTH_TIMEOUT_S=90'));
  // Run at boot too: an update a power cut interrupted is finished or rolled back.
  t.deepEqual(update.get('Install')!.get('WantedBy'), ['multi-user.target']);
  const build = read('build');
  t.regex(build, /smsbox-update\.path smsbox-update\.service/);
  t.regex(build, /update-key\.pub" "\$ROOTFS\/usr\/share\/smsbox\/update-key\.pub"/);
  t.regex(build, /mkfs\.ext4 -q -L smsbox-data/);
});

// --- network.toml → runtime network files (image/rootfs/usr/local/lib/smsbox/netconfig.mjs) ---

const WIFI = 'smsbox/wpa_supplicant-wlan0.conf';
const STATIC = 'systemd/network/10-smsbox-static.network';

test('the shipped network.toml parses after Notepad and means plain DHCP: no files, no messages', (t) => {
  const settings = parse((BOM + read('boot/network.toml').replace(/\n/g, '\r\n')).replace(/^\uFEFF/, ''));
  t.deepEqual(netconfig.renderNetwork(settings), { files: {}, country: null, messages: [] });
});

test('Wi-Fi: a Chinese SSID with quotes is written as hex; country upper-cased; WPA passphrase kept', (t) => {
  const r = netconfig.renderNetwork({ wifi: { country: 'cn', ssid: '小店"WiFi"', password: 'p@ss word"8' } });
  t.deepEqual(r.messages, []);
  t.is(r.country, 'CN');
  const conf = r.files[WIFI]!;
  t.true(conf.includes('country=CN'));
  t.true(conf.includes(`ssid=${Buffer.from('小店"WiFi"').toString('hex')}`));
  t.true(conf.includes('psk="p@ss word"8"'));
  t.is(r.files[STATIC], undefined);
});

const table: Array<[string, unknown, RegExp | null, string[]]> = [
  ['open network', { wifi: { country: 'CN', ssid: 'shop', password: '' } }, null, [WIFI]],
  ['no country', { wifi: { ssid: 'shop', password: '12345678' } }, /country/, []],
  ['short password', { wifi: { country: 'CN', ssid: 'shop', password: '1234567' } }, /password/, []],
  ['SSID over 32 bytes', { wifi: { country: 'CN', ssid: '店'.repeat(11), password: '12345678' } }, /ssid/, []],
  ['country of 3 letters', { wifi: { country: 'CHN', ssid: '', password: '' } }, /country/, []],
  ['static address', { static_ip: { address: '192.168.1.50/24', gateway: '192.168.1.1', dns: ['223.5.5.5'] } }, null, [STATIC]],
  ['address without prefix means /24', { static_ip: { address: '10.0.0.9' } }, null, [STATIC]],
  ['bad address', { static_ip: { address: '192.168.1.300/24' } }, /address/, []],
  ['bad gateway', { static_ip: { address: '192.168.1.50/24', gateway: 'router' } }, /gateway/, []],
  ['bad dns', { static_ip: { address: '192.168.1.50/24', dns: ['x'] } }, /dns/, []],
  ['bad interface', { static_ip: { interface: 'eth0; rm', address: '192.168.1.50/24' } }, /interface/, []],
  ['wrong type', { wifi: { ssid: 42 }, static_ip: { address: true } }, /ssid[\s\S]*address|address[\s\S]*ssid/, []],
];
for (const [name, settings, message, files] of table) {
  test(`network.toml: ${name}`, (t) => {
    const r = netconfig.renderNetwork(settings);
    t.deepEqual(Object.keys(r.files).sort(), [...files].sort());
    if (message) t.regex(r.messages.join('\n'), message);
    else t.deepEqual(r.messages, []);
  });
}

test('static address file: interface, address, gateway and DNS as given', (t) => {
  const r = netconfig.renderNetwork({ static_ip: { interface: 'wlan0', address: '192.168.1.50/24', gateway: '192.168.1.1', dns: ['223.5.5.5', '114.114.114.114'] } });
  const lines = r.files[STATIC]!.split('\n');
  for (const line of ['Name=wlan0', 'Address=192.168.1.50/24', 'Gateway=192.168.1.1', 'DNS=223.5.5.5', 'DNS=114.114.114.114']) {
    t.true(lines.includes(line), line);
  }
});

test('property: any network.toml content renders without throwing, and a file is only written when no message was given for its part', (t) => {
  const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined));
  const ipLike = fc.oneof(value, fc.ipV4(), fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, p]) => `${ip}/${p}`));
  const settings = fc.record(
    {
      wifi: fc.oneof(value, fc.record({ country: fc.oneof(value, fc.constantFrom('CN', 'cn', 'US')), ssid: value, password: value }, { requiredKeys: [] })),
      static_ip: fc.oneof(value, fc.record({ interface: value, address: ipLike, gateway: ipLike, dns: fc.oneof(value, fc.array(ipLike, { maxLength: 3 })) }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(settings, (s) => {
      const r = netconfig.renderNetwork(s);
      const wifiMessage = r.messages.some((m) => m.startsWith('[wifi] ssid') || m.startsWith('[wifi] password') || m.includes('needs country'));
      const staticMessage = r.messages.some((m) => m.startsWith('[static_ip]'));
      return !(wifiMessage && r.files[WIFI]) && !(staticMessage && r.files[STATIC]);
    }),
  );
  t.pass();
});

// --- locked down (issue 16): what root reads at boot, SSH, firewall, sandbox ---

/** Runs image/rootfs/usr/local/sbin/smsbox-setting on a file with this text; null when it prints nothing. */
function setting(text: string | Buffer, section: string, key: string, pattern: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-setting-'));
  try {
    writeFileSync(join(dir, 'smsbox.toml'), text);
    return execFileSync('sh', [image('rootfs/usr/local/sbin/smsbox-setting'), section, key, pattern, join(dir, 'smsbox.toml')], { encoding: 'utf8' }).trim();
  } catch (err) {
    if ((err as { status?: number }).status === 1) return null;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the root side reads smsbox.toml strictly: a literal value of the allowed form in its section, nothing else', (t) => {
  const bool = 'true|false';
  // The boot partition's file as the box ships it (CRLF, after Notepad a BOM).
  t.is(setting(BOM + bootConfigText(), 'system', 'unattended_upgrades', bool), 'true');
  t.is(setting('[system]\r\nunattended_upgrades = false   # 关闭\r\n', 'system', 'unattended_upgrades', bool), 'false');
  t.is(setting('[system]\n  unattended_upgrades=false\n', 'system', 'unattended_upgrades', bool), 'false');
  // Not a literal boolean, another section, an array table, a longer key: nothing.
  for (const text of [
    '[system]\nunattended_upgrades = "false"\n',
    '[system]\nunattended_upgrades = false; reboot\n',
    '[system]\nunattended_upgrades = $(reboot)\n',
    '[system]\nunattended_upgrades = `reboot`\n',
    '[http]\nunattended_upgrades = false\n',
    '[[system]]\nunattended_upgrades = false\n',
    '[system]\nunattended_upgrades_x = false\n',
    '[system]\n# unattended_upgrades = false\n',
    'unattended_upgrades = false\n',
  ]) {
    t.is(setting(text, 'system', 'unattended_upgrades', bool), null, JSON.stringify(text));
  }
  // The first occurrence decides: a bad value is not overridden by a later good one.
  t.is(setting('[system]\nunattended_upgrades = nope\nunattended_upgrades = false\n', 'system', 'unattended_upgrades', bool), null);
  t.is(setting('[http]\nport = 8080 # x\n', 'http', 'port', '[1-9][0-9]*'), '8080');
  t.is(setting('[http]\nport = "8080 || reboot"\n', 'http', 'port', '[1-9][0-9]*'), null);
  // Section and key names are literal: a pattern character there is refused.
  t.throws(() => setting('[system]\n', 'sys.em', 'unattended_upgrades', bool));
});

test('SSH: decided once at the first boot from the boot partition, key-only, no root password', (t) => {
  const sshd = read('rootfs/etc/ssh/sshd_config.d/smsbox.conf')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.trim().split(/\s+/));
  const option = (name: string) => sshd.find(([key]) => key!.toLowerCase() === name.toLowerCase())?.[1];
  t.is(option('PasswordAuthentication'), 'no');
  t.is(option('KbdInteractiveAuthentication'), 'no');
  t.is(option('PermitRootLogin'), 'prohibit-password');
  t.is(option('AuthenticationMethods'), 'publickey');
  t.is(option('AuthorizedKeysFile'), '.ssh/authorized_keys');

  const u = unit(read('rootfs/etc/systemd/system/smsbox-ssh-firstboot.service'));
  // Once: a done-file on the root file system, which only root writes.
  t.deepEqual(u.get('Unit')!.get('ConditionPathExists'), ['!/etc/smsbox/ssh-decided']);
  // Before the service that can write the boot partition, and before the firewall reads ssh.nft.
  for (const before of ['smsbox.service', 'ssh.service', 'nftables.service']) t.true(words(u.get('Unit')!.get('Before')).includes(before), before);
  const script = read('rootfs/usr/local/sbin/smsbox-ssh-firstboot');
  t.regex(script, /^DECIDED=\/etc\/smsbox\/ssh-decided$/m);
  t.regex(script, /rm -f "\$BOOT\/ssh" "\$BOOT\/ssh\.txt" "\$BOOT\/authorized_keys"/);
  t.notRegex(script, /chpasswd|passwd /, 'no password is ever set from the boot partition');
  // No unit or script reads SSH settings from the boot partition at every boot any more.
  t.throws(() => read('rootfs/etc/systemd/system/smsbox-ssh.service'));
  t.throws(() => read('rootfs/usr/local/sbin/smsbox-ssh'));
  const build = read('build');
  t.regex(build, /systemctl disable ssh\.service ssh\.socket/);
  t.regex(build, /rm -rf \/root\/\.ssh \/etc\/smsbox\/ssh-decided/);
  t.regex(build, /smsbox-ssh-firstboot\.service/);
  t.regex(build, /passwd -l root/);
  t.regex(read('boot/README.txt'), /authorized_keys/);
  t.notRegex(read('boot/README.txt'), /root 密码|root password/);
});

test('firewall: inbound dropped by default; HTTP, mDNS, DHCP, ICMPv6 neighbour discovery and SSH-only-when-on let in; outbound open', (t) => {
  const rules = read('rootfs/etc/nftables.conf');
  const input = /chain input \{([\s\S]*?)\n\t\}/.exec(rules)?.[1] ?? '';
  t.regex(input, /type filter hook input priority filter; policy drop;/);
  t.regex(input, /iif "lo" accept/);
  t.regex(input, /ct state established,related accept/);
  t.regex(input, /tcp dport @http_ports accept/);
  t.regex(rules, /set http_ports \{[^}]*elements = \{ 80 \}/);
  t.regex(input, /udp dport 5353 accept/);
  t.regex(input, /udp sport 67 udp dport 68 accept/);
  for (const type of ['nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-router-advert', 'packet-too-big']) t.regex(input, new RegExp(`icmpv6 type \\{[^}]*${type}`), type);
  t.regex(input, /tcp dport @ssh_ports accept/);
  t.regex(rules, /set ssh_ports \{\s*type inet_service\s*\}/, 'empty unless the first boot turned SSH on');
  t.notRegex(input, /dport (22|ssh)\b/, 'no fixed SSH rule');
  t.notRegex(rules, /hook output/, 'outbound (NTP, apt, webhooks) is not filtered');
  t.regex(rules, /include "\/etc\/nftables\.d\/\*\.nft"/);
  t.regex(read('rootfs/usr/local/sbin/smsbox-ssh-firstboot'), /add element inet smsbox ssh_ports \{ 22 \}/);
  t.regex(read('build'), /nftables\.service smsbox-firewall-port\.service/);
});

test('nothing root runs or reads at boot lives where the smsbox service can write', (t) => {
  // Every root-side unit of the image: its programs are root's files under
  // /usr or /opt/smsbox/good, never under the boot partition or the app's data.
  const writable = ['/boot/firmware', '/var/lib/smsbox/', '/var/lib/smsbox-data/smsbox', '/tmp', '/var/tmp'];
  const dir = image('rootfs/etc/systemd/system');
  const units = execFileSync('find', [dir, '-name', '*.service', '-o', '-name', '*.conf'], { encoding: 'utf8' }).trim().split('\n');
  t.true(units.length >= 10);
  for (const file of units) {
    const u = unit(readFileSync(file, 'utf8'));
    const s = u.get('Service');
    if (!s) continue;
    for (const key of ['ExecStart', 'ExecStartPre', 'ExecStartPost', 'ExecCondition']) {
      for (const program of (s.get(key) ?? []).map((v) => v.replace(/^[-+!@:]+/, '').split(/\s+/)[0]!)) {
        t.false(writable.some((w) => program.startsWith(w)), `${file}: ${key}=${program}`);
        t.regex(program, /^\/(usr\/|opt\/smsbox\/good\/)/, `${file}: ${key}=${program}`);
      }
    }
  }
  // The boot partition's files are read by root only through the strict reader
  // (smsbox.toml) or the validating network renderer (network.toml): no script
  // sources, executes or copies into root's files anything from it.
  for (const script of ['smsbox-firewall-port', 'smsbox-upgrades-wanted', 'smsbox-hostname', 'smsbox-bootguard']) {
    const text = read('rootfs/usr/local/sbin', script);
    t.notRegex(text, /^\s*\.\s|\bsource\b|\beval\b/m, `${script} evaluates nothing`);
  }
  t.regex(read('rootfs/usr/local/sbin/smsbox-upgrades-wanted'), /smsbox-setting system unattended_upgrades 'true\|false'/);
  t.regex(read('rootfs/usr/local/sbin/smsbox-firewall-port'), /smsbox-setting http port/);
  // The boot files on the FAT partition: read-only inside smsbox.service's namespace.
  const bootguard = read('rootfs/usr/local/sbin/smsbox-bootguard');
  t.regex(bootguard, /echo "ReadOnlyPaths=-\$BOOT\/\$name"/);
  t.regex(bootguard, /smsbox\.toml\|\.smsbox\.toml\.\*\) continue/, 'only the settings file (and its temp files) stays writable');
  t.regex(bootguard, /\*\[!A-Za-z0-9\._\+-\]\*\) .*continue/, 'no unusual file name reaches the unit file');
  const app = unit(read('rootfs/etc/systemd/system/smsbox.service'));
  t.true(words(app.get('Unit')!.get('Requires')).includes('smsbox-bootguard.service'), 'no start without the boot files protected');
  t.true(words(app.get('Unit')!.get('After')).includes('smsbox-bootguard.service'));
  // Overlay files are root's and not group/world-writable in the image.
  const build = read('build');
  t.regex(build, /cp -a --no-preserve=ownership "\$IMAGE_DIR\/rootfs\/\." "\$ROOTFS\/"/);
  t.regex(build, /xargs -0 chmod go-w/);
});

test('smsbox.service sandbox: the hardening that fits a Node.js service on a UART and GPIO', (t) => {
  const s = unit(read('rootfs/etc/systemd/system/smsbox.service')).get('Service')!;
  const yes = ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname', 'RestrictSUIDSGID', 'LockPersonality', 'RestrictRealtime', 'RestrictNamespaces', 'RemoveIPC', 'PrivateIPC'];
  for (const key of yes) t.deepEqual(s.get(key), ['yes'], key);
  t.deepEqual(s.get('ProtectSystem'), ['strict']);
  t.deepEqual(s.get('ProtectProc'), ['invisible']);
  t.deepEqual(words(s.get('RestrictAddressFamilies')).sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
  t.deepEqual(s.get('SystemCallArchitectures'), ['native']);
  t.true(s.get('SystemCallFilter')!.includes('@system-service'));
  t.deepEqual(s.get('UMask'), ['0027']);
  t.deepEqual(s.get('DevicePolicy'), ['closed']);
  const devices = (s.get('DeviceAllow') ?? []).map((d) => d.split(/\s+/)[0]);
  for (const device of ['char-ttyAMA', 'char-ttyS', 'char-gpiochip']) t.true(devices.includes(device), device);
  // Cannot be used, and must not be added by mistake: V8's JIT and port 80.
  t.is(s.get('MemoryDenyWriteExecute'), undefined);
  t.is(s.get('PrivateUsers'), undefined);
  t.is(s.get('PrivateDevices'), undefined);
  t.deepEqual(s.get('ReadWritePaths'), ['/boot/firmware']);
});

test('a recorded, patched build: security and updates suites, manifest beside and inside the image, unattended-upgrades for security only', (t) => {
  const sources = read('rootfs/etc/apt/sources.list.d/debian.sources');
  const stanzas = sources.split(/\n\s*\n/).map((s) => Object.fromEntries(s.split('\n').filter((l) => /^[A-Z][\w-]*:/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])));
  const suites = stanzas.flatMap((s) => (s['Suites'] ?? '').split(/\s+/)).filter(Boolean);
  t.deepEqual(suites.sort(), ['trixie', 'trixie-security', 'trixie-updates']);
  t.true(stanzas.some((s) => s['URIs'] === 'http://deb.debian.org/debian-security' && s['Suites'] === 'trixie-security'));
  const build = read('build');
  t.regex(build, /STAGES=\(host source rootfs app patch configure assemble compress\)/);
  t.regex(build, /apt-get -y -q -o Dpkg::Options::=--force-confold dist-upgrade/);
  t.regex(build, /nftables unattended-upgrades/);
  t.regex(build, /dpkg-query --admindir="\$ROOTFS\/var\/lib\/dpkg" -W/);
  t.regex(build, /package_lock_sha256: /);
  t.regex(build, /app_commit: /);
  t.regex(build, /cp "\$ROOTFS\/usr\/share\/smsbox\/manifest\.txt" "\$OUT\/smsbox-\$\(cut -c1-10 "\$SRC\/\.commit"\)-\$\(date -u \+%Y%m%d\)\.manifest\.txt"/);
  // A new commit redoes the patch stage, so a reused root fs is patched again.
  t.regex(build, /rm -f "\$STAMPS\/source" "\$STAMPS\/patch"/);
  const uu = read('rootfs/etc/apt/apt.conf.d/52smsbox-unattended-upgrades');
  t.regex(uu, /#clear Unattended-Upgrade::Origins-Pattern;/);
  const origins = [...uu.matchAll(/"(origin=[^"]+)"/g)].map((m) => m[1]!);
  t.true(origins.length > 0 && origins.every((o) => o.includes('label=Debian-Security')), origins.join(' '));
  for (const timer of ['apt-daily', 'apt-daily-upgrade']) {
    const dropin = unit(read(`rootfs/etc/systemd/system/${timer}.service.d/smsbox.conf`));
    t.deepEqual(dropin.get('Service')!.get('ExecCondition'), ['/usr/local/sbin/smsbox-upgrades-wanted']);
  }
  t.regex(build, /apt-daily\.timer apt-daily-upgrade\.timer\n/);
});

test('host name: smsbox- and four hex digits of the serial number, set before the network and avahi', (t) => {
  const u = unit(read('rootfs/etc/systemd/system/smsbox-hostname.service'));
  for (const before of ['systemd-networkd.service', 'avahi-daemon.service', 'smsbox.service']) t.true(words(u.get('Unit')!.get('Before')).includes(before), before);
  const script = read('rootfs/usr/local/sbin/smsbox-hostname');
  t.regex(script, /\/proc\/device-tree\/serial-number/);
  t.regex(script, /^name=smsbox-\$id$/m);
  // The helper that takes the last four hex digits, run on a Pi's serial (NUL-terminated) and a MAC.
  const hex4 = /^hex4\(\) \{ (.*); \}$/m.exec(script)![1]!;
  const run = (input: string) => execFileSync('sh', ['-c', hex4], { input, encoding: 'utf8' }).trim();
  t.is(run('10000000a1b2C3D4\0'), 'c3d4');
  t.is(run('52:54:00:12:34:56\n'), '3456');
  t.regex(read('build'), /smsbox-hostname\.service/);
});

test('image/build: the scripts it runs in the root fs as one single-quoted argument hold no apostrophe (one ends the quote: the rest of the script silently did not run)', (t) => {
  const build = read('build');
  const scripts = [...build.matchAll(/in_root sh -ec '\n([\s\S]*?)\n\s*'\n/g)].map((m) => m[1]!);
  t.true(scripts.length >= 1);
  for (const script of scripts) t.false(script.includes("'"), script.split('\n').find((line) => line.includes("'")));
});

test('image/build: the data partition is made with the default ext4 type (4 KiB blocks), not the "small" one mke2fs picks at 128 MiB and growing keeps', (t) => {
  const mkfs = read('build').split('\n').find((line) => /mkfs\.ext4 .*-L smsbox-data/.test(line));
  t.truthy(mkfs);
  t.regex(mkfs!, / -T default /);
});
