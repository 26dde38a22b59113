// The image's overlays (image/overlays/*.dts) compiled with dtc and
// merged the way the Pi firmware merges it (libfdt, through fdtoverlay), then
// judged by image/check-overlay, the same check image/build runs on Debian's
// real device trees. Needs device-tree-compiler (README's test command installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { DTC, FDTGET, FDTOVERLAY, testWithTools } from '../helpers/tools.js';

const overlaySource = join(packageRoot, 'image', 'overlays', 'disable-bt.dts');
const buttonSource = join(packageRoot, 'image', 'overlays', 'gpio-shutdown.dts');
const boardSource = join(packageRoot, 'test', 'image', 'fixtures', 'pi-uarts.dts');
const checkOverlay = join(packageRoot, 'image', 'check-overlay');

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-dtbo-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** dtc with symbols (-@), as image/build compiles the overlay. */
function compile(source: string, output: string): void {
  const result = spawnSync('dtc', ['-@', '-q', '-I', 'dts', '-O', 'dtb', '-o', output, source], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dtc ${source}: ${result.stderr}`);
}

function check(overlay: string, board: string) {
  const result = spawnSync('bash', [checkOverlay, overlay, board], { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

const dtcTest = testWithTools([DTC, FDTOVERLAY, FDTGET]);

dtcTest('disable-bt moves the PL011 to GPIO 14/15 and turns off the mini UART and Bluetooth', (t) => {
  withDir((dir) => {
    compile(overlaySource, join(dir, 'disable-bt.dtbo'));
    compile(boardSource, join(dir, 'board.dtb'));
    const { status, output } = check(join(dir, 'disable-bt.dtbo'), join(dir, 'board.dtb'));
    t.is(status, 0, output);
    t.regex(output, /^ok {3}board: PL011 \/soc\/serial@7e201000 on GPIO 14\/15/m);
  });
});

dtcTest('the check fails on a board tree the overlay leaves as it was', (t) => {
  withDir((dir) => {
    // Named like the real one, but changes nothing the HAT depends on.
    writeFileSync(join(dir, 'noop.dts'), '/dts-v1/;\n/plugin/;\n/ { fragment@0 { target-path = "/"; __overlay__ { smsbox-noop; }; }; };\n');
    compile(join(dir, 'noop.dts'), join(dir, 'disable-bt.dtbo'));
    compile(boardSource, join(dir, 'board.dtb'));
    const { status, output } = check(join(dir, 'disable-bt.dtbo'), join(dir, 'board.dtb'));
    t.is(status, 1);
    t.regex(output, /FAIL board: .*mini UART .* not disabled/);
    t.regex(output, /Bluetooth .* not disabled/);
    t.regex(output, /PL011 pins are not uart0_gpio14 only/);
  });
});

dtcTest('a board tree without the labels the overlay targets is refused, not silently passed', (t) => {
  withDir((dir) => {
    // Raspberry Pi OS-style trees name things differently: no "bt" label here.
    const board = readFileSync(boardSource, 'utf8').replace('bt: bluetooth', 'bluetooth');
    writeFileSync(join(dir, 'other.dts'), board);
    compile(overlaySource, join(dir, 'disable-bt.dtbo'));
    compile(join(dir, 'other.dts'), join(dir, 'other.dtb'));
    const { status, output } = check(join(dir, 'disable-bt.dtbo'), join(dir, 'other.dtb'));
    t.is(status, 1);
    t.regex(output, /FAIL other: the overlay does not apply/);
  });
});

dtcTest('gpio-shutdown makes GPIO 3 a KEY_POWER button and takes it from I2C1', (t) => {
  withDir((dir) => {
    compile(buttonSource, join(dir, 'gpio-shutdown.dtbo'));
    compile(boardSource, join(dir, 'board.dtb'));
    const { status, output } = check(join(dir, 'gpio-shutdown.dtbo'), join(dir, 'board.dtb'));
    t.is(status, 0, output);
    t.regex(output, /^ok {3}board: KEY_POWER on GPIO 3 \(active low\), I2C1 off/m);

    // The same check refuses a button on another pin or with another key.
    for (const [change, problem] of [
      [(s: string) => s.replace('<&gpio 3 1>', '<&gpio 4 1>'), /not GPIO 3 active low/],
      [(s: string) => s.replace('<116>', '<142>'), /does not send KEY_POWER/],
    ] as const) {
      writeFileSync(join(dir, 'gpio-shutdown.dts'), change(readFileSync(buttonSource, 'utf8')));
      compile(join(dir, 'gpio-shutdown.dts'), join(dir, 'gpio-shutdown.dtbo'));
      const wrong = check(join(dir, 'gpio-shutdown.dtbo'), join(dir, 'board.dtb'));
      t.is(wrong.status, 1);
      t.regex(wrong.output, problem);
    }
  });
});
