import test from 'ava';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hatHasPowerControl, hatsDirectory, HatProfileError, listHats, loadHat, simulatorModuleFor } from '../../src/modem/hats.js';

test('the shipped profiles load and agree with what the modem code needs', (t) => {
  t.deepEqual(listHats(), ['ec25', 'ec25-usb', 'sim7600', 'sim7600-usb', 'sim868']);
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
    t.is(hat.transport === 'usb', name.endsWith('-usb'), `${name}: transport`);
    t.regex(hat.description.zh, /[\u4e00-\u9fff]/, `${name} has a Chinese description`);
    // Every profile cites its sources.
    t.regex(readFileSync(join(hatsDirectory(), `${name}.toml`), 'utf8'), /Sources/);
  }
});

test('an unknown name lists the known ones; a bad file names the key', (t) => {
  const error = t.throws(() => loadHat('nokia'), { instanceOf: HatProfileError });
  t.regex(error!.message, /ec25, ec25-usb, sim7600, sim7600-usb, sim868/);
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

test('USB profiles: the AT port is ttyUSB2 (USB interface 2), a by-id pattern ending in -if02-port0, no power pins, the same AT side as the UART twin', (t) => {
  const cases = [
    { name: 'sim7600-usb', twin: 'sim7600', vendor: '1e0e', product: '9001', byId: /^\/dev\/serial\/by-id\/usb-SimTech__Incorporated_SimTech__Incorporated_\*-if02-port0$/ },
    { name: 'ec25-usb', twin: 'ec25', vendor: '2c7c', product: '0125', byId: /^\/dev\/serial\/by-id\/usb-Quectel_EC25\*-if02-port0$/ },
  ];
  for (const c of cases) {
    const hat = loadHat(c.name);
    const twin = loadHat(c.twin);
    t.is(hat.transport, 'usb');
    t.is(hat.uart.device, '/dev/ttyUSB2', c.name);
    t.is(hat.uart.baud, 115200);
    t.deepEqual(hat.usb && { vendorId: hat.usb.vendorId, productId: hat.usb.productId, atInterface: hat.usb.atInterface }, { vendorId: c.vendor, productId: c.product, atInterface: 2 });
    t.regex(hat.usb!.byId, c.byId);
    t.false(hatHasPowerControl(hat), `${c.name}: the bus powers it`);
    t.true(hatHasPowerControl(twin));
    t.deepEqual([hat.power.pwrkeyGpio, hat.power.statusGpio, hat.power.flightModeGpio], [null, null, null]);
    t.is(hat.power.powerDownCommand, twin.power.powerDownCommand);
    t.deepEqual(hat.at, twin.at, `${c.name} talks AT as ${c.twin} does`);
    t.is(hat.moduleId, c.twin);
    t.is(simulatorModuleFor(hat) as string | null, c.twin, `the simulator plays ${c.twin} for ${c.name}`);
    t.is(simulatorModuleFor(twin) as string | null, c.twin);
    t.regex(hat.description.zh, /无法控制其电源/);
    // Each port fact carries its source.
    const text = readFileSync(join(hatsDirectory(), `${c.name}.toml`), 'utf8');
    for (const key of ['vendor_id', 'product_id', 'at_interface', 'by_id']) t.regex(text, new RegExp(`^${key} = .*# \\[`, 'm'), `${c.name}: ${key} cites its source`);
  }
  t.is(simulatorModuleFor({ moduleId: 'nokia' }), null);
});

test('a USB profile with a power pin, a [uart] table or a by-id path of another interface is refused, naming the key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hats-'));
  const good = readFileSync(join(hatsDirectory(), 'sim7600-usb.toml'), 'utf8');
  writeFileSync(join(dir, 'sim7600-usb.toml'), good.replace('[power]\n', '[power]\npwrkey_gpio = 6\n'));
  t.throws(() => loadHat('sim7600-usb', dir), { message: /power\.pwrkey_gpio has no meaning for a USB modem/ });
  writeFileSync(join(dir, 'sim7600-usb.toml'), `${good}\n[uart]\ndevice = "/dev/serial0"\nbaud = 115200\n`);
  t.throws(() => loadHat('sim7600-usb', dir), { message: /\[uart\] is for a UART profile/ });
  writeFileSync(join(dir, 'sim7600-usb.toml'), good.replace('_*-if02-port0"', '_*-if03-port0"'));
  t.throws(() => loadHat('sim7600-usb', dir), { message: /usb\.by_id must end in -if02-port0/ });
  writeFileSync(join(dir, 'sim7600-usb.toml'), good.replace('transport = "usb"', 'transport = "pcie"'));
  t.throws(() => loadHat('sim7600-usb', dir), { message: /transport/ });
  writeFileSync(join(dir, 'sim7600-usb.toml'), good.replace('vendor_id = "1e0e"', 'vendor_id = "SIMCOM"'));
  t.throws(() => loadHat('sim7600-usb', dir), { message: /usb\.vendor_id/ });
});
