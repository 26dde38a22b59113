import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type Timers } from '../../src/clock.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { planSegments } from '../../src/modem/pdu/index.js';
import { DEFAULT_NOTIFY_EVENTS, type NotifyChannelConfig } from '../../src/notify/kinds.js';
import { Notifier } from '../../src/notify/notifier.js';
import { NotifyStore } from '../../src/store/notify.js';
import { Store } from '../../src/store/store.js';

export const T0 = Date.parse('2026-12-01T10:00:00+08:00');
export const BOX = { name: '小店短信盒', url: 'http://192.168.1.50:8080/' };

export function channel(partial: Partial<NotifyChannelConfig> & Pick<NotifyChannelConfig, 'kind'>): NotifyChannelConfig {
  return { url: '', to: '', secret: '', events: [...DEFAULT_NOTIFY_EVENTS], ...partial };
}

/** Timers that never fire by themselves: tests drive the notifier with tick() and deliverDue(). */
export const heldTimers: Timers = {
  setTimeout() {
    return null;
  },
  clearTimeout() {},
};

export interface NotifyRig {
  dir: string;
  clock: ManualClock;
  config: Config;
  store: Store;
  notifyStore: NotifyStore;
  notifier: Notifier;
  events: { kind: string; zh: string }[];
  /** Closes the database and opens it again from the same file, with a new notifier: a restart. */
  restart(): void;
  dispose(): void;
}

/**
 * A notifier over a real database file (the box's own Store and its
 * migrations), a manual clock, and SMS queued into the real outbox, the way
 * main.ts wires it.
 */
export function notifyRig(channels: NotifyChannelConfig[], opts: { dir?: string; clock?: ManualClock; timers?: Timers; httpTimeoutMs?: number } = {}): NotifyRig {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'smsbox-notify-'));
  const clock = opts.clock ?? new ManualClock(T0);
  const config = defaultConfig();
  config.notify = channels;
  const events: { kind: string; zh: string }[] = [];
  const rig = { dir, clock, config, events } as NotifyRig;
  const open = () => {
    rig.store = Store.open(dir);
    rig.notifyStore = new NotifyStore(rig.store.db);
    const store = rig.store;
    rig.notifier = new Notifier({
      store: rig.notifyStore,
      clock,
      config: () => config,
      box: () => BOX,
      queueSms: (to, text) => {
        const plan = planSegments(text);
        return store.queueSystemMessage('forward', to, text, plan.parts.length, plan.encoding, clock.now());
      },
      addEvent: (_at, _level, kind, zh) => events.push({ kind, zh }),
      timers: opts.timers ?? heldTimers,
      ...(opts.httpTimeoutMs ? { httpTimeoutMs: opts.httpTimeoutMs } : {}),
    });
  };
  open();
  rig.restart = () => {
    rig.store.close();
    open();
  };
  rig.dispose = () => {
    try {
      rig.store.close();
    } catch {
      // already closed
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return rig;
}
