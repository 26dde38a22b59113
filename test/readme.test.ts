import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

test('CI runs exactly the test command the README gives', (t) => {
  const ci = readFileSync(join(packageRoot, '.ci', 'run'), 'utf8');
  const command = /^TEST_COMMAND='(.+)'$/m.exec(ci)?.[1];
  t.truthy(command);
  t.true(readme.includes(`\`\`\`sh\n${command}\n\`\`\``), `README lacks: ${command}`);
});

test('the README quick start runs the box with npm start', (t) => {
  t.true(readme.includes('```sh\nnpm ci && npm start\n```'));
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  t.regex(pkg.scripts['start']!, /cli\.js serve$/);
  t.is(pkg.bin['smsbox'], 'dist/src/cli.js');
});
