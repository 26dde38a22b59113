import test from 'ava';
import fc from 'fast-check';
import { parseCommandLine, splitArgs } from '../../hardware/simulator/at-parse.js';

const cases: [string, ReturnType<typeof parseCommandLine>][] = [
  ['', []],
  ['E0', [{ name: 'E', form: 'exec', args: '0' }]],
  ['E0V1', [{ name: 'E', form: 'exec', args: '0' }, { name: 'V', form: 'exec', args: '1' }]],
  ['&F', [{ name: '&F', form: 'exec', args: '' }]],
  ['I', [{ name: 'I', form: 'exec', args: '' }]],
  ['S0=0', [{ name: 'S0', form: 'set', args: '0' }]],
  ['S7?', [{ name: 'S7', form: 'read', args: '' }]],
  ['+CMGF=0', [{ name: '+CMGF', form: 'set', args: '0' }]],
  ['+cmgf?', [{ name: '+CMGF', form: 'read', args: '' }]],
  ['+CNMI=?', [{ name: '+CNMI', form: 'test', args: '' }]],
  ['+CSQ', [{ name: '+CSQ', form: 'exec', args: '' }]],
  // What gammu and the box send: several extended commands separated by ';'.
  ['+CMGF=0;+CNMI=2,1', [{ name: '+CMGF', form: 'set', args: '0' }, { name: '+CNMI', form: 'set', args: '2,1' }]],
  ['E0;+CMEE=2', [{ name: 'E', form: 'exec', args: '0' }, { name: '+CMEE', form: 'set', args: '2' }]],
  ['+CPMS="SM","SM","SM"', [{ name: '+CPMS', form: 'set', args: '"SM","SM","SM"' }]],
  // A ';' inside quotes belongs to the parameter; spaces outside quotes are ignored.
  ['+CSCA="a;b", 145', [{ name: '+CSCA', form: 'set', args: '"a;b",145' }]],
  ['$TSSPCSW=?', [{ name: '$TSSPCSW', form: 'test', args: '' }]],
  ['D10086;', [{ name: 'D', form: 'exec', args: '10086;' }]],
  ['+CMGF=', [{ name: '+CMGF', form: 'set', args: '' }]],
  ['+CSCA="unterminated', null],
  ['+CMGF?x', null],
  ['!', null],
];

for (const [line, expected] of cases) {
  test(`parseCommandLine(${JSON.stringify(line)})`, (t) => {
    t.deepEqual(parseCommandLine(line), expected);
  });
}

test('splitArgs keeps quoted commas, unquotes, and marks empty positions', (t) => {
  t.deepEqual(splitArgs(''), []);
  t.deepEqual(splitArgs('2,1,0,1,0'), ['2', '1', '0', '1', '0']);
  t.deepEqual(splitArgs('"SM",,"ME"'), ['SM', undefined, 'ME']);
  t.deepEqual(splitArgs('"a,b",""'), ['a,b', '']);
  t.deepEqual(splitArgs('3,'), ['3', undefined]);
});

test('property: extended commands joined with ";" parse back to the same commands', (t) => {
  const name = fc.stringMatching(/^\+[A-Z]{2,6}$/);
  const value = fc.oneof(fc.stringMatching(/^[0-9]{1,3}$/), fc.stringMatching(/^"[A-Za-z0-9,; ]{0,6}"$/));
  const command = fc.record({ name, form: fc.constantFrom('exec' as const, 'read' as const, 'test' as const, 'set' as const), values: fc.array(value, { minLength: 1, maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 5 }), (commands) => {
      const text = commands
        .map((c) => c.name + (c.form === 'exec' ? '' : c.form === 'read' ? '?' : c.form === 'test' ? '=?' : `=${c.values.join(',')}`))
        .join(';');
      const parsed = parseCommandLine(text);
      if (parsed === null || parsed.length !== commands.length) return false;
      return parsed.every((p, i) => {
        const c = commands[i]!;
        if (p.name !== c.name || p.form !== c.form) return false;
        if (c.form !== 'set') return p.args === '';
        return JSON.stringify(splitArgs(p.args)) === JSON.stringify(c.values.map((v) => v.replace(/^"|"$/g, '')));
      });
    }),
  );
  t.pass();
});
