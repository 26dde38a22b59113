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
