/** `smsbox pdu encode|decode` as a technician uses it. */
import test from 'ava';
import { pduCommand } from '../../src/modem/pdu/cli.js';
import { decodePdu, encodeSubmit } from '../../src/modem/pdu/index.js';

function run(argv: string[]): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = pduCommand(argv, (line) => lines.push(line));
  return { code, lines };
}

test('encode prints one PDU per segment, each starting with the SMSC octet 00', (t) => {
  const text = '亲，您的订单已发货，'.repeat(10); // 100 UCS-2 units → 2 segments
  const { code, lines } = run(['encode', '--to', '+8613800138000', '--text', text, '--concat-ref', '9']);
  t.is(code, 0);
  t.deepEqual(
    lines,
    encodeSubmit({ to: '+8613800138000', text, concatRef: 9 }).map((p) => p.pdu),
  );
  t.is(lines.length, 2);
  for (const line of lines) t.true(line.startsWith('00'));
  t.is(
    lines.map((line) => decodePdu(line)).map((d) => (d.type === 'submit' ? d.text : '')).join(''),
    text,
  );
});

test('encode --status-report sets TP-SRR; a leading "pdu" argument is accepted', (t) => {
  const { code, lines } = run(['pdu', 'encode', '--text', 'hellohello', '--to', '+46708251358', '--status-report']);
  t.is(code, 0);
  t.is(lines.length, 1);
  const decoded = decodePdu(lines[0]!);
  t.true(decoded.type === 'submit' && decoded.statusReportRequest);
  // The dreamfabric SMS-SUBMIT "hellohello" example with TP-SRR set and no TP-VP: first octet
  // 0x11 (VPF relative) becomes 0x21 (SRR), and the VP octet AA is gone.
  t.is(lines[0], '0021000B916407281553F800000AE8329BFD4697D9EC37');
});

test('decode prints one JSON line with type, number, text, encoding, concat and timestamp', (t) => {
  // dreamfabric "SMS messages and the PDU format" SMS-DELIVER example.
  const { code, lines } = run(['decode', '07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37']);
  t.is(code, 0);
  t.is(lines.length, 1);
  const json = JSON.parse(lines[0]!);
  t.like(json, {
    type: 'deliver',
    number: '27838890001',
    text: 'hellohello',
    encoding: 'gsm7',
    concat: null,
    timestamp: '1999-03-29T15:16:59+02:00',
    smsc: '+27381000015',
  });
});

test('decode of a multipart part reports {ref, part, total}', (t) => {
  // frontlinesms/smslib IncomingTextSmsTestData: part 3 of 3, reference 0x2A.
  const { code, lines } = run(['decode', '06915669917777640A9156691639180000012022014281232B0500032A0303E6A0301CCE4E8FC36E3AC85D6F8BCB7217888A0EBBD77317688A0EBBE969771A']);
  t.is(code, 0);
  t.like(JSON.parse(lines[0]!), { concat: { ref: 42, part: 3, total: 3 } });
});

test('decode of a status report includes status, its meaning and the times', (t) => {
  // faucamp/python-gsmmodem test_pdu.py: reference 214 to +31628870634.
  const { code, lines } = run(['decode', '0006D60B911326880736F4111011719551401110117195714000']);
  t.is(code, 0);
  t.like(JSON.parse(lines[0]!), {
    type: 'status-report',
    number: '+31628870634',
    status: 0,
    delivered: true,
    final: true,
    messageRef: 214,
    timestamp: '2011-01-11T17:59:15+01:00',
    dischargeTime: '2011-01-11T17:59:17+01:00',
  });
});

test('a bad PDU is exit code 1 with a clear message', (t) => {
  const { code, lines } = run(['decode', '0791ZZ']);
  t.is(code, 1);
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^error: bad PDU: .*hex/);
});

test('a number the PDU cannot carry is exit code 1 with a clear message', (t) => {
  const { code, lines } = run(['encode', '--to', 'shop', '--text', 'hi']);
  t.is(code, 1);
  t.regex(lines[0]!, /phone number "shop"/);
});

const badArguments: [string, string[]][] = [
  ['no command', []],
  ['unknown command', ['transmogrify']],
  ['encode without --to', ['encode', '--text', 'hi']],
  ['encode without --text', ['encode', '--to', '10086']],
  ['encode --to with no value', ['encode', '--text', 'hi', '--to']],
  ['encode with an unknown flag', ['encode', '--to', '10086', '--text', 'hi', '--flash']],
  ['encode with a bad --concat-ref', ['encode', '--to', '10086', '--text', 'hi', '--concat-ref', '300']],
  ['decode without HEX', ['decode']],
  ['decode with two arguments', ['decode', '00', '11']],
];

for (const [name, argv] of badArguments) {
  test(`usage and exit code 2: ${name}`, (t) => {
    const { code, lines } = run(argv);
    t.is(code, 2);
    t.true(lines.some((line) => line.includes('smsbox pdu encode --to NUMBER --text TEXT')));
    t.true(lines.some((line) => line.includes('smsbox pdu decode HEX')));
    t.regex(lines[0]!, /^error: /);
  });
}
