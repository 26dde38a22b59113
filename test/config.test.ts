import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, defaultConfig, loadConfig, modemConfigs, modemLimits, parseConfig } from '../src/config/config.js';
import { packageRoot } from '../src/paths.js';

const parseError = (source: string): ConfigError => {
  const err = (() => {
    try {
      parseConfig(source, 'smsbox.toml');
    } catch (e) {
      return e;
    }
    return null;
  })();
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err;
};

test('no file: built-in defaults with a demo account and the simulated modem', (t) => {
  const c = defaultConfig();
  t.is(c.http.port, 8080);
  t.is(c.storage.dataDir, './data');
  t.is(c.modem.device, 'simulator');
  t.is(c.accounts.length, 1);
  t.is(c.schedule.quietHoursText, '21:00-09:00');
  t.is(c.schedule.maxPerHour, 180);
});

test('the shipped, commented config file states exactly the built-in defaults', (t) => {
  const shipped = loadConfig(join(packageRoot, 'image', 'smsbox.toml'));
  t.deepEqual({ ...shipped, file: null }, defaultConfig());
});

test('a file saved by Windows Notepad (BOM, CRLF, Chinese comments) parses', (t) => {
  const source = '\uFEFF# 短信网关配置\r\n[http]\r\nport = 80 # 端口\r\n\r\n[schedule]\r\nquiet_hours = "22:00-08:30" # 免打扰\r\n[[account]]\r\nuser = "店铺"\r\npassword = "密码"\r\n';
  const c = parseConfig(source, 'x.toml');
  t.is(c.http.port, 80);
  t.is(c.schedule.quietHours?.startMinute, 22 * 60);
  t.is(c.schedule.quietHours?.endMinute, 8 * 60 + 30);
  t.deepEqual(c.accounts, [{ user: '店铺', password: '密码', balanceLi: null, ignoreQuietHours: false }]);
});

test('keys named in the issue keep their names and meaning', (t) => {
  const c = parseConfig(
    `[http]\nport = 9000\n[admin]\npassword = "p"\n[[account]]\nuser = "aaaa"\npassword = "bbbb"\nbalance = 10.00\n` +
      `[billing]\nprice_per_segment = 0.045\nunlimited_balance_reply = "8888"\n[schedule]\ntimezone = "Asia/Urumqi"\nquiet_hours = ""\n` +
      `max_per_minute = 5\nmax_per_hour = 100\nmax_per_day = 500\n[modem]\ndevice = "/dev/serial0"\nhat = "ec25"\n[simulator]\nsend_ms = 10\n`,
    'x.toml',
  );
  t.is(c.http.port, 9000);
  t.is(c.admin.password, 'p');
  t.is(c.accounts[0]!.balanceLi, 10_000);
  t.is(c.billing.pricePerSegmentLi, 45);
  t.is(c.billing.unlimitedBalanceReply, '8888');
  t.is(c.schedule.timezone, 'Asia/Urumqi');
  t.is(c.schedule.quietHours, null);
  t.deepEqual([c.schedule.maxPerMinute, c.schedule.maxPerHour, c.schedule.maxPerDay], [5, 100, 500]);
  t.like(c.modem, { device: '/dev/serial0', hat: 'ec25' });
  t.is(c.simulator.sendMs, 10);
});

test('a syntax error names the line and column, in Chinese and English', (t) => {
  const err = parseError('[http]\r\nport = 8080\r\n[admin]\r\npassword = 中文没有引号\r\n');
  t.is(err.line, 4);
  t.regex(err.message, /^smsbox\.toml:4: 第 4 行/);
  t.regex(err.message, /line 4, column/);
  t.regex(err.zh, /双引号/);
});

test('a wrong value names the line of its key and what is allowed', (t) => {
  const err = parseError('# comment\n[http]\nhost = "0.0.0.0"\nport = 99999\n');
  t.is(err.line, 4);
  t.regex(err.zh, /\[http\] port 应为 1 到 65535 之间的整数/);
  t.regex(err.en, /must be a whole number from 1 to 65535/);
});

test('bad quiet hours, time zone and amounts are explained', (t) => {
  t.is(parseError('[schedule]\nquiet_hours = "9pm-9am"\n').line, 2);
  t.regex(parseError('[schedule]\ntimezone = "Mars/Olympus"\n').zh, /时区/);
  t.regex(parseError('[billing]\nprice_per_segment = -1\n').en, /amount in yuan/);
  t.regex(parseError('[billing]\nprice_per_segment = 0.0001\n').en, /at most 3 decimals/);
});

test('unknown sections and keys are refused with the known ones listed', (t) => {
  const section = parseError('[htpp]\nport = 1\n');
  t.is(section.line, 1);
  t.regex(section.en, /unknown section \[htpp\]/);
  const key = parseError('[http]\nprot = 1\n');
  t.is(key.line, 2);
  t.regex(key.en, /known: port, host/);
});

test('account errors point at the right [[account]] block', (t) => {
  const source = '[[account]]\nuser = "a"\npassword = "x"\n\n[[account]]\nuser = "b"\npassword = "y"\nbalance = "lots"\n';
  t.is(parseError(source).line, 8);
  const missing = parseError('[[account]]\nuser = "a"\npassword = "x"\n[[account]]\nuser = "b"\n');
  t.is(missing.line, 4);
  t.regex(missing.en, /number 2 has no password/);
  const twice = parseError('[[account]]\nuser = "a"\npassword = "x"\n[[account]]\nuser = "a"\npassword = "y"\n');
  t.is(twice.line, 5);
  t.regex(parseError('[account]\nuser = "a"\n').zh, /\[\[account\]\]/);
});

test('a missing file is a ConfigError, not a crash', (t) => {
  const err = t.throws(() => loadConfig('/nonexistent/smsbox.toml'), { instanceOf: ConfigError });
  t.regex(err!.en, /not found/);
});

test('the README documents every key of the shipped config', (t) => {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const shipped = readFileSync(join(packageRoot, 'image', 'smsbox.toml'), 'utf8');
  for (const match of shipped.matchAll(/^([a-z_]+) = /gm)) {
    t.true(readme.includes(`\`${match[1]}\``), `README lacks ${match[1]}`);
  }
});

test('LED and PWRKEY pins: -1 means none or the profile, the UART and duplicates are refused', (t) => {
  const c = parseConfig('[leds]\nactivity = -1\nfault = 5\n[modem]\npwrkey_gpio = 4\n', 'x.toml');
  t.deepEqual(c.leds, { power: 17, network: 27, activity: null, fault: 5, gpioChip: '' });
  t.is(c.modem.pwrkeyGpio, 4);
  t.is(c.modem.statusGpio, null);
  t.regex(parseError('[leds]\npower = 14\n').en, /14 and 15 the UART/);
  t.regex(parseError('[leds]\nfault = 3\n').en, /3 is the power button/);
  t.regex(parseError('[modem]\npwrkey_gpio = 3\n').zh, /3 是电源按钮/);
  const duplicate = parseError('[leds]\npower = 17\n\n[modem]\npwrkey_gpio = 17\n');
  t.is(duplicate.line, 5);
  t.regex(duplicate.en, /GPIO 17, already used by \[leds\] power/);
});

test('[[modem]] blocks make a pool of SIMs, each with its own name, device and limits; [modem] still means one', (t) => {
  const one = parseConfig('[modem]\ndevice = "/dev/serial0"\nhat = "sim7600"\n', 'x.toml');
  t.like(one.modem, { name: 'sim1', device: '/dev/serial0', maxPerHour: null });
  t.deepEqual(one.extraModems, []);
  t.deepEqual(modemConfigs(one).map((m) => m.name), ['sim1']);

  const pool = parseConfig(
    [
      '[schedule]', 'max_per_hour = 180', 'max_per_day = 900', '',
      '[[modem]]', 'device = "/dev/serial0"', 'hat = "sim7600"', 'pwrkey_gpio = 6', '',
      '[[modem]]', 'name = "usb-a"', 'device = "/dev/serial/by-id/usb-SimTech__Incorporated_SimTech__Incorporated_0123456789ABCDEF-if02-port0"',
      'hat = "sim7600"', 'own_number = "13912345679"', 'max_per_hour = 100', 'max_per_day = 500', '',
      '[[modem]]', 'device = "simulator"', 'max_per_minute = 5', '',
    ].join('\n'),
    'x.toml',
  );
  t.deepEqual(modemConfigs(pool).map((m) => m.name), ['sim1', 'usb-a', 'sim3'], 'unnamed blocks are sim<N> by position');
  t.is(pool.modem, modemConfigs(pool)[0]!, 'the first block is config.modem');
  t.like(pool.extraModems[0], { ownNumber: '+8613912345679', maxPerHour: 100, maxPerDay: 500, maxPerMinute: null });
  t.deepEqual(modemLimits(pool, pool.extraModems[0]!), { maxPerMinute: 0, maxPerHour: 100, maxPerDay: 500 });
  t.deepEqual(modemLimits(pool, pool.modem), { maxPerMinute: 0, maxPerHour: 180, maxPerDay: 900 }, 'without its own, a SIM has [schedule]\'s');
  t.deepEqual(modemLimits(pool, pool.extraModems[1]!), { maxPerMinute: 5, maxPerHour: 180, maxPerDay: 900 });
});

test('[[modem]] mistakes name the block: a name twice, a serial port twice, a pin twice, a bad name, too many', (t) => {
  const twiceName = parseError('[[modem]]\nname = "a"\n\n[[modem]]\nname = "a"\n');
  t.is(twiceName.line, 5);
  t.regex(twiceName.en, /name "a" is used twice/);
  const twicePort = parseError('[[modem]]\ndevice = "/dev/ttyUSB2"\n\n[[modem]]\ndevice = "/dev/ttyUSB2"\n');
  t.is(twicePort.line, 5);
  t.regex(twicePort.zh, /一个串口只能接一个短信模块/);
  // Several virtual HATs are fine.
  t.is(modemConfigs(parseConfig('[[modem]]\ndevice = "simulator"\n[[modem]]\ndevice = "simulator"\n', 'x.toml')).length, 2);
  const pin = parseError('[[modem]]\npwrkey_gpio = 6\n\n[[modem]]\npwrkey_gpio = 6\n');
  t.is(pin.line, 5);
  t.regex(pin.en, /GPIO 6, already used by \[\[modem\]\] sim1 pwrkey_gpio/);
  t.regex(parseError('[[modem]]\nname = "SIM 1"\n').en, /lowercase letters, digits/);
  t.regex(parseError('[[modem]]\nbaud = 9600\n').en, /\[modem\] has no key "baud"/);
  t.regex(parseError('[[modem]]\n'.repeat(9)).en, /at most 8 \[\[modem\]\] blocks/);
});

test('[system] unattended_upgrades: on by default, false turns it off, anything but a boolean is refused on its line', (t) => {
  t.true(defaultConfig().system.unattendedUpgrades);
  t.false(parseConfig('[system]\nunattended_upgrades = false\n', 'smsbox.toml').system.unattendedUpgrades);
  t.true(parseConfig('[system]\nunattended_upgrades = true # 自动更新\n', 'smsbox.toml').system.unattendedUpgrades);
  for (const value of ['"false"', '0', '"no"']) {
    const err = parseError(`# c\n[system]\nunattended_upgrades = ${value}\n`);
    t.is(err.line, 3, value);
    t.regex(err.en, /unattended_upgrades/);
  }
  t.regex(parseError('[system]\nautomatic_reboot = true\n').en, /unattended_upgrades/, 'an unknown key lists the known one');
});
