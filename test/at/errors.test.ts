import test from 'ava';
import {
  CMS_ERROR_TEXT,
  classifyCmeError,
  classifyCmsError,
  lookupCmeText,
  lookupCmsText,
} from '../../src/modem/at/index.js';

// Each row: code, class, why (the reason a person reading a failed message
// would accept).
const cmsTable: Array<[number, 'retryable' | 'final', string]> = [
  [1, 'final', 'unassigned number: the recipient does not exist'],
  [8, 'final', 'operator determined barring'],
  [10, 'final', 'call barred'],
  [21, 'final', 'short message transfer rejected'],
  [27, 'final', 'destination out of service'],
  [28, 'final', 'unidentified subscriber'],
  [29, 'final', 'facility rejected'],
  [30, 'final', 'unknown subscriber'],
  [38, 'retryable', 'network out of order: lasts a while, retry later'],
  [41, 'retryable', 'temporary failure'],
  [42, 'retryable', 'congestion'],
  [47, 'retryable', 'resources unavailable'],
  [96, 'final', 'invalid mandatory information'],
  [97, 'final', 'message type non-existent'],
  [98, 'final', 'not compatible with protocol state'],
  [99, 'final', 'information element non-existent'],
  [111, 'final', 'protocol error, unspecified'],
  [127, 'final', 'interworking, unspecified'],
  [0x90, 'final', 'DCS not supported by the SC'],
  [0xc0, 'retryable', 'SC busy'],
  [0xc3, 'final', 'invalid SME address'],
  [0xc5, 'final', 'duplicate SM: the SC already has it'],
  [300, 'retryable', 'ME failure'],
  [302, 'retryable', 'operation not allowed (SIM still initialising)'],
  [304, 'final', 'invalid PDU mode parameter'],
  [305, 'final', 'invalid text mode parameter'],
  [310, 'retryable', 'SIM not inserted: the box is broken, not the message'],
  [311, 'retryable', 'SIM PIN required'],
  [330, 'retryable', 'SMSC unknown: configuration, not the message'],
  [331, 'retryable', 'no network service'],
  [332, 'retryable', 'network timeout'],
  [500, 'retryable', 'unknown error'],
  [512, 'retryable', 'manufacturer specific'],
  [770, 'retryable', 'manufacturer specific'],
];

for (const [code, expected, why] of cmsTable) {
  test(`classifyCmsError(${code}) is ${expected}: ${why}`, (t) => {
    t.is(classifyCmsError(code), expected);
  });
}

test('an unknown or missing CMS code is retryable (the dispatcher caps attempts)', (t) => {
  t.is(classifyCmsError(null), 'retryable');
  t.is(classifyCmsError(200), 'retryable');
});

test('38 is "Network out of order" in the table (24.011 Annex E-2)', (t) => {
  t.is(CMS_ERROR_TEXT.get(38), 'Network out of order');
});

test('verbose CMS texts map back to their codes, regardless of case, punctuation and (U)SIM', (t) => {
  t.is(lookupCmsText('SIM not inserted'), 310);
  t.is(lookupCmsText('(U)SIM not inserted'), 310);
  t.is(lookupCmsText('sim pin required'), 311);
  t.is(lookupCmsText('Unknown error'), 500);
  t.is(lookupCmsText('network timeout'), 332);
  t.is(lookupCmsText('Network out of order'), 38);
  t.is(lookupCmsText('Invalid PDU mode parameter'), 304);
  t.is(lookupCmsText('SMSC address unknown'), 330);
  t.is(lookupCmsText('not a text any modem prints'), null);
});

test('verbose CME texts map back to their codes', (t) => {
  t.is(lookupCmeText('SIM not inserted'), 10);
  t.is(lookupCmeText('SIM PIN required'), 11);
  t.is(lookupCmeText('incorrect password'), 16);
  t.is(lookupCmeText('no network service'), 30);
  t.is(lookupCmeText('whatever'), null);
});

test('classifyCmeError: malformed commands are final, the rest retryable', (t) => {
  t.is(classifyCmeError(4), 'final');
  t.is(classifyCmeError(25), 'final');
  t.is(classifyCmeError(10), 'retryable');
  t.is(classifyCmeError(30), 'retryable');
  t.is(classifyCmeError(null), 'retryable');
});
