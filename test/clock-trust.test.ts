import test from 'ava';
import { BoxClock, NetworkTimeFeed } from '../src/scheduler/clock-trust.js';

const piWithoutNtp = { ntpSynchronized: () => false, isRaspberryPi: () => true };

test('network time feed: asks only a registered modem while the clock is untrusted, adopts once, then stops asking', async (t) => {
  const clock = new BoxClock('auto', piWithoutNtp, { now: () => Date.parse('2000-01-01T00:00:00Z') });
  let registered = false;
  let asked = 0;
  let adopted = 0;
  const network = Date.parse('2026-12-02T02:00:00Z');
  const feed = new NetworkTimeFeed({
    clock,
    ask: async () => {
      asked++;
      return new Date(network);
    },
    registered: () => registered,
    onAdopted: () => adopted++,
  });
  t.false(clock.trusted());
  await feed.poke();
  t.is(asked, 0, 'a modem that is not registered has no network time');
  registered = true;
  await feed.poke();
  t.is(asked, 1);
  t.is(adopted, 1);
  t.is(clock.clockSource(), 'modem');
  t.is(clock.now(), network);
  await feed.poke();
  t.is(asked, 1, 'a trusted clock is not asked about again');
  feed.stop();
});

test('network time feed: a NITZ time offered by the modem is adopted; nothing after stop()', async (t) => {
  const clock = new BoxClock('auto', piWithoutNtp, { now: () => 0 });
  let adopted = 0;
  const feed = new NetworkTimeFeed({ clock, ask: async () => null, registered: () => true, onAdopted: () => adopted++ });
  feed.offer(new Date(Date.parse('2026-12-02T02:00:00Z')));
  t.is(adopted, 1);
  t.true(clock.trusted());
  const untrusted = new BoxClock('auto', piWithoutNtp, { now: () => 0 });
  let asked = 0;
  const stopped = new NetworkTimeFeed({ clock: untrusted, ask: async () => (asked++, null), registered: () => true, onAdopted: () => {} });
  stopped.stop();
  await stopped.poke();
  t.is(asked, 0);
});
