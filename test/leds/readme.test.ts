import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LED_PINS } from '../../src/leds/driver.js';
import { LED_NAMES, TIMING } from '../../src/leds/patterns.js';
import { PHYSICAL_PIN } from '../../src/gpio/io-plugin.js';
import { listHats, loadHat } from '../../src/modem/hats.js';
import { packageRoot } from '../../src/paths.js';

const readme = readFileSync(join(packageRoot, 'hardware', 'README.md'), 'utf8');
const svg = readFileSync(join(packageRoot, 'hardware', 'leds.svg'), 'utf8');

test('the timings hardware/README.md tells the shop are the ones the driver plays', (t) => {
  const line = (pattern: string): string => readme.split('\n').find((l) => l.startsWith(`- \`${pattern}\`:`)) ?? '';
  t.regex(line('blink-fast'), new RegExp(`${TIMING.fastHalfMs} ms on, ${TIMING.fastHalfMs} ms off`));
  t.regex(line('blink-slow'), new RegExp(`${TIMING.slowHalfMs} ms on, ${TIMING.slowHalfMs} ms off`));
  t.regex(line('blink-N'), new RegExp(`${TIMING.countOnMs} ms on, ${TIMING.countOffMs} ms off\\), the last off stretched to ${TIMING.countPauseMs} ms`));
  t.regex(line('flash'), new RegExp(`${TIMING.flashMs} ms on`));
});

test('the default LED pins in the README table and the wiring picture are the driver\'s', (t) => {
  for (const name of LED_NAMES) {
    const gpio = DEFAULT_LED_PINS[name];
    const pin = PHYSICAL_PIN[gpio]!;
    t.regex(readme, new RegExp(`\\| ${name} \\| ${gpio} \\| ${pin} \\|`), `README row for ${name}`);
    t.true(svg.includes(`GPIO${gpio} · pin ${pin} · config: ${name} = ${gpio}`), `leds.svg label for ${name}`);
  }
});

test('no default LED pin is taken by a supported HAT (UART, PWRKEY, STATUS, flight mode) or by I2C/SPI', (t) => {
  const taken = new Set([14, 15, 2, 3, 7, 8, 9, 10, 11]);
  for (const name of listHats()) {
    const { power } = loadHat(name);
    for (const gpio of [power.pwrkeyGpio, power.statusGpio, power.flightModeGpio]) if (gpio !== null) taken.add(gpio);
  }
  const leds = Object.values(DEFAULT_LED_PINS);
  t.is(new Set(leds).size, leds.length);
  for (const gpio of leds) t.false(taken.has(gpio), `GPIO ${gpio}`);
});
