import test from 'ava';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { packageRoot } from '../../src/paths.js';
import { avahiBusctlLookup, fallbackName, HostNameWatcher, hostUrls, lanIpv4s, parseAvahiFqdn } from '../../src/system/host-name.js';
import { startTestBox, tempDir } from '../helpers/box.js';
import { watchOutput } from '../helpers/process-events.js';

const quietLog = (lines: string[] = []) => createLogger({ level: 'debug', write: (line) => lines.push(line) });

const iface = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false) =>
  ({ address, family, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo;

test('busctl\'s answer, JSON or plain, gives the announced name; anything else none', (t) => {
  // As busctl 252 printed them against a real avahi-daemon 0.8 (renamed by avahi-set-host-name).
  t.is(parseAvahiFqdn('{"type":"s","data":["smsbox-ab12-2.local"]}\n'), 'smsbox-ab12-2.local');
  t.is(parseAvahiFqdn('s "smsbox.local"\n'), 'smsbox.local');
  t.is(parseAvahiFqdn('{"type":"s","data":["SmsBox-AB12.local."]}'), 'smsbox-ab12.local');
  t.is(parseAvahiFqdn(''), null);
  t.is(parseAvahiFqdn('{"type":"s","data":[]}'), null);
  t.is(parseAvahiFqdn('{"type":"s","data":["smsbox"]}'), null, 'not a .local name');
  t.is(parseAvahiFqdn('{"type":"s","data":["<script>.local"]}'), null);
  t.is(parseAvahiFqdn('{"type":"s","da'), null);
  t.is(parseAvahiFqdn('s "a b.local"'), null);
});

test('without avahi the name is the host name\'s first label plus .local', (t) => {
  t.is(fallbackName('smsbox-ab12'), 'smsbox-ab12.local');
  t.is(fallbackName('Shop-PC.lan'), 'shop-pc.local');
  t.is(fallbackName('bad_name'), 'smsbox.local');
  t.is(fallbackName(''), 'smsbox.local');
});

test('the 管家助理 URLs: each LAN IPv4 address, then the name; no port on 80', (t) => {
  const interfaces = { lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [iface('192.168.1.23'), iface('fe80::1', 'IPv6')], wlan0: [iface('10.0.0.5')] };
  t.deepEqual(lanIpv4s(interfaces), ['192.168.1.23', '10.0.0.5']);
  t.deepEqual(hostUrls('smsbox-ab12.local', 80, ['192.168.1.23']), ['http://192.168.1.23/sms', 'http://smsbox-ab12.local/sms']);
  t.deepEqual(hostUrls('smsbox-ab12.local', 8080, []), ['http://smsbox-ab12.local:8080/sms']);
});

test('the watcher: the host name until avahi answers, then avahi\'s name; the host name again when avahi stops answering', async (t) => {
  let answer: () => Promise<string> = async () => '{"type":"s","data":["smsbox-ab12-2.local"]}';
  const lines: string[] = [];
  const watcher = new HostNameWatcher({
    lookup: () => answer(),
    log: quietLog(lines),
    hostname: () => 'smsbox-ab12',
    interfaces: () => ({ eth0: [iface('192.168.1.23')] }),
  });
  t.deepEqual(watcher.info(80), { name: 'smsbox-ab12.local', source: 'hostname', urls: ['http://192.168.1.23/sms', 'http://smsbox-ab12.local/sms'] });
  await watcher.refresh();
  t.deepEqual(watcher.info(80), { name: 'smsbox-ab12-2.local', source: 'avahi', urls: ['http://192.168.1.23/sms', 'http://smsbox-ab12-2.local/sms'] });
  answer = async () => {
    throw new Error('Call failed: The name org.freedesktop.Avahi was not provided by any .service files');
  };
  await watcher.refresh();
  await watcher.refresh();
  t.like(watcher.name(), { name: 'smsbox-ab12.local', source: 'hostname' });
  t.is(lines.filter((l) => l.includes('avahi does not say its name')).length, 1, 'said once, not every minute');
});

test('one lookup at a time: a refresh while one is under way joins it', async (t) => {
  let calls = 0;
  let release: (text: string) => void = () => {};
  const watcher = new HostNameWatcher({
    lookup: () => {
      calls++;
      return new Promise((resolve) => (release = resolve));
    },
    log: quietLog(),
    hostname: () => 'smsbox',
  });
  const first = watcher.refresh();
  const second = watcher.refresh();
  t.is(calls, 1);
  t.is(watcher.name().name, 'smsbox.local', 'readers never wait for avahi');
  release('s "smsbox-2.local"');
  await Promise.all([first, second]);
  t.is(watcher.name().name, 'smsbox-2.local');
});

test('busctl missing or without a bus is no name, never a failure', async (t) => {
  const dir = tempDir();
  const missing = avahiBusctlLookup(join(dir, 'no-such-busctl'));
  await t.throwsAsync(missing());
  const hung = join(dir, 'hung-busctl');
  writeFileSync(hung, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
  await t.throwsAsync(avahiBusctlLookup(hung, 200)(), undefined, 'killed at its limit');
  const watcher = new HostNameWatcher({ lookup: avahiBusctlLookup(join(dir, 'no-such-busctl')), log: quietLog(), hostname: () => 'shop' });
  await watcher.start();
  watcher.stop();
  t.like(watcher.name(), { name: 'shop.local', source: 'hostname' });
  rmSync(dir, { recursive: true, force: true });
});

test('/api/status carries host {name, urls} for the port the box listens on; the setup page and the overview show them', async (t) => {
  const box = await startTestBox();
  try {
    const status = JSON.parse((await box.get('/api/status')).body) as { host: { name: string; urls: string[] } };
    const expected = fallbackName();
    t.is(status.host.name, expected);
    t.is(status.host.urls.at(-1), `http://${expected}:${box.port}/sms`);
    for (const ip of lanIpv4s()) t.true(status.host.urls.includes(`http://${ip}:${box.port}/sms`));
    const setup = (await box.get('/setup')).body;
    for (const url of status.host.urls) t.true(setup.includes(url), `${url} on the setup page`);
    t.regex((await box.get('/')).body, new RegExp(`id="host-name"[^>]*>${expected.replace(/\./g, '\\.')}<`));
  } finally {
    await box.dispose();
  }
});

test('the console names the box and its 管家助理 URLs', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'smsbox.toml');
  writeFileSync(file, '[[account]]\nuser = "shop"\npassword = "pw"\n[http]\nhost = "127.0.0.1"\n[sim]\ncheck_balance = false\n');
  const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'serve', '--config', file, '--data', join(dir, 'data'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = watchOutput(child);
  try {
    const port = (await output.waitFor(/http:\/\/127\.0\.0\.1:(\d+)\//, 'the port'))[1];
    const line = (await output.waitFor(/URL for 管家助理: (.*)\n/, 'the URL line'))[1]!;
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { host: { name: string; urls: string[] } };
    t.regex(output.text(), new RegExp(`name: ${status.host.name.replace(/\./g, '\\.')}\\n`));
    t.deepEqual(line.split(/\s+/).filter(Boolean), status.host.urls);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  }
});
