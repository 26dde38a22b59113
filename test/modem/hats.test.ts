import test from 'ava';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hatsDirectory, HatProfileError, listHats, loadHat } from '../../src/modem/hats.js';

test('the three shipped profiles load and agree with what the modem code needs', (t) => {
  t.deepEqual(listHats(), ['ec25', 'sim7600', 'sim868']);
  const sim7600 = loadHat('sim7600');
  t.is(sim7600.uart.device, '/dev/serial0');
  t.is(sim7600.uart.baud, 115200);
  t.is(sim7600.power.pwrkeyGpio, 6);
  t.is(sim7600.power.powerDownCommand, 'AT+CPOF');
  t.true(sim7600.at.registration.includes('+CEREG'));
  t.is(loadHat('sim868').power.powerDownCommand, 'AT+CPOWD=1');
  t.false(loadHat('sim868').at.registration.includes('+CEREG'), 'a 2G module has no LTE registration');
  t.is(loadHat('ec25').power.powerDownCommand, 'AT+QPOWD=1');
  t.is(loadHat('ec25').power.pwrkeyGpio, null);
  for (const name of listHats()) {
    const hat = loadHat(name);
    t.true(hat.power.powerOnPulseMs < hat.power.bootMs, name);
    t.regex(hat.description.zh, /[\u4e00-\u9fff]/, `${name} has a Chinese description`);
    // Every profile cites its sources.
    t.regex(readFileSync(join(hatsDirectory(), `${name}.toml`), 'utf8'), /Sources/);
  }
});

test('an unknown name lists the known ones; a bad file names the key', (t) => {
  const error = t.throws(() => loadHat('nokia'), { instanceOf: HatProfileError });
  t.regex(error!.message, /ec25, sim7600, sim868/);
  t.throws(() => loadHat('../etc/passwd'), { instanceOf: HatProfileError });

  const dir = mkdtempSync(join(tmpdir(), 'hats-'));
  const good = readFileSync(join(hatsDirectory(), 'sim7600.toml'), 'utf8');
  writeFileSync(join(dir, 'sim7600.toml'), good.replace('baud = 115200', 'baud = "fast"'));
  t.throws(() => loadHat('sim7600', dir), { message: /uart\.baud/ });
  writeFileSync(join(dir, 'sim7600.toml'), good.replace('cnmi = "2,1,0,1,0"', 'cnmi = "2,2,0,1,0"'));
  t.throws(() => loadHat('sim7600', dir), { message: /store new messages/ });
  writeFileSync(join(dir, 'sim7600.toml'), good.replace('[uart]', '[uart\n'));
  t.throws(() => loadHat('sim7600', dir), { message: /sim7600\.toml:\d+/ });
});

test('radio and call settings: each LTE profile names its RAT and IMS queries and its IMS switch, cited; the 2G one hangs up with ATH', (t) => {
  const sim7600 = loadHat('sim7600');
  t.is(sim7600.at.ratCommand, 'AT+CPSI?');
  t.deepEqual(sim7600.at.imsQueries, ['AT+CIREG?']);
  t.deepEqual(sim7600.at.imsEnable, ['AT+VOLTESETTING=1']);
  t.is(sim7600.at.hangUp, 'AT+CHUP');
  const ec25 = loadHat('ec25');
  t.is(ec25.at.ratCommand, 'AT+QNWINFO');
  t.deepEqual(ec25.at.imsQueries, ['AT+CIREG?', 'AT+QCFG="ims"']);
  t.deepEqual(ec25.at.imsEnable, ['AT+QCFG="ims",1']);
  const sim868 = loadHat('sim868');
  t.is(sim868.at.ratCommand, null);
  t.deepEqual(sim868.at.imsQueries, []);
  t.deepEqual(sim868.at.imsEnable, []);
  t.is(sim868.at.hangUp, 'ATH');
  for (const name of ['sim7600', 'ec25']) {
    const text = readFileSync(join(hatsDirectory(), `${name}.toml`), 'utf8');
    t.regex(text, /ims_enable = .*# \[/, `${name}: the IMS switch carries its source`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'hats-'));
  const good = readFileSync(join(hatsDirectory(), 'sim7600.toml'), 'utf8');
  writeFileSync(join(dir, 'sim7600.toml'), good.replace('hang_up = "AT+CHUP"', 'hang_up = "ATD112;"'));
  t.throws(() => loadHat('sim7600', dir), { message: /at\.hang_up/ });
});
