import test from 'ava';
import { SessionStore, checkCsrf, parseCookies, sessionCookie } from '../../src/web/session.js';
import { routeLabel } from '../../src/web/metrics.js';
import { escapeHtml } from '../../src/web/html.js';
import fc from 'fast-check';

test('sessions expire after the idle time, slide with use, and never outlive the maximum', (t) => {
  const sessions = new SessionStore({ idleMs: 1000, maxMs: 2500 });
  const s = sessions.create(0);
  t.is(sessions.get(s.id, 900), s);
  t.is(sessions.get(s.id, 1800), s, 'used at 900: alive until 1900');
  t.is(sessions.get(s.id, 2400), s);
  t.is(sessions.get(s.id, 2600), null, 'past the maximum whatever the use');
  const idle = sessions.create(0);
  t.is(sessions.get(idle.id, 1000), null, 'idle for the whole idle time');
  t.is(sessions.get(undefined, 0), null);
  t.is(sessions.get('guess', 0), null);
});

test('session ids and CSRF tokens are random and distinct; clear keeps only the given session', (t) => {
  const sessions = new SessionStore();
  const all = Array.from({ length: 50 }, () => sessions.create(0));
  t.is(new Set(all.flatMap((s) => [s.id, s.csrf])).size, 100);
  for (const s of all) t.regex(s.id, /^[A-Za-z0-9_-]{43}$/);
  sessions.clear(all[3]);
  t.is(sessions.size, 1);
  t.truthy(sessions.get(all[3]!.id, 1));
});

test('CSRF check: only the session own token passes', (t) => {
  const sessions = new SessionStore();
  const a = sessions.create(0);
  const b = sessions.create(0);
  t.true(checkCsrf(a, a.csrf));
  t.false(checkCsrf(a, b.csrf));
  t.false(checkCsrf(a, ''));
  t.false(checkCsrf(a, null));
  t.false(checkCsrf(a, `${a.csrf}x`));
});

test('cookies: parsed leniently, the first of a name wins; the session cookie is HttpOnly and SameSite=Strict', (t) => {
  t.deepEqual([...parseCookies('a=1; smsbox_session=abc; a=2;junk; b=%E4%B8%AD')], [['a', '1'], ['smsbox_session', 'abc'], ['b', '中']]);
  t.deepEqual([...parseCookies(undefined)], []);
  const s = new SessionStore({ idleMs: 60_000, maxMs: 120_000 }).create(0);
  t.is(sessionCookie(s, 0), `smsbox_session=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60`);
  t.is(sessionCookie(null, 0), 'smsbox_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
});

test('metrics route labels stay few: ids and numbers collapse', (t) => {
  const cases: [string, boolean, string][] = [
    ['/sms', true, 'wdgj'],
    ['/', false, '/'],
    ['/api/messages/123/resend', false, '/api/messages/:id/resend'],
    ['/api/optouts/13800138000', false, '/api/optouts/:id'],
    ['/api/optouts.csv', false, '/api/optouts.csv'],
    ['/messages/7', false, '/messages/:id'],
    ['/settings/ledger/%E5%BA%97', false, '/settings/ledger/:param'],
    ['/wp-admin/x.php', false, 'other'],
    ['/metrics', false, '/metrics'],
  ];
  for (const [path, wdgj, label] of cases) t.is(routeLabel(path, wdgj), label, path);
});

test('property: escaped text never contains markup characters and decodes back to the original', (t) => {
  const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
    const escaped = escapeHtml(text);
    return !/[<>"']/.test(escaped) && decode(escaped) === text;
  }));
  t.pass();
});
