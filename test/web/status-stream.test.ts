import test from 'ava';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { StatusStreams } from '../../src/web/status-stream.js';

/** The parts of a ServerResponse a status stream uses, recording what it was sent. */
class FakeResponse extends EventEmitter {
  readonly chunks: string[] = [];
  status = 0;
  writableLength = 0;
  destroyed = false;
  writeHead(status: number) {
    this.status = status;
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

function streams(max = 64) {
  let snapshots = 0;
  let renders = 0;
  let state = 1;
  const s = new StatusStreams<{ state: number }>({
    snapshot: () => {
      snapshots++;
      return { state };
    },
    stableKey: (status) => String(status.state),
    render: (status, lang) => {
      renders++;
      return JSON.stringify({ ...status, lang });
    },
    tickMs: 3_600_000,
    max,
  });
  return { s, counts: () => ({ snapshots, renders }), set: (v: number) => (state = v) };
}

const open = (s: StatusStreams<{ state: number }>, lang: 'zh' | 'en' = 'zh') => {
  const res = new FakeResponse();
  return { res, ok: s.open(res as unknown as http.ServerResponse, lang) };
};

test('many streams share one snapshot per tick and one payload per language', (t) => {
  const { s, counts, set } = streams();
  const zh = Array.from({ length: 40 }, () => open(s, 'zh').res);
  const en = Array.from({ length: 20 }, () => open(s, 'en').res);
  const before = counts();
  set(2);
  s.tick();
  t.is(counts().snapshots - before.snapshots, 1);
  t.is(counts().renders - before.renders, 2, 'one payload in Chinese, one in English');
  t.true(zh.every((r) => r.chunks.at(-1)!.includes('"state":2') && r.chunks.at(-1)!.includes('"zh"')));
  t.true(en.every((r) => r.chunks.at(-1)!.includes('"en"')));
  s.endAll();
});

test('the cap: the 65th stream is refused until one closes', (t) => {
  const { s } = streams();
  const all = Array.from({ length: 64 }, () => open(s));
  t.true(all.every((o) => o.ok && o.res.status === 200));
  t.false(open(s).ok);
  all[0]!.res.emit('close');
  t.true(open(s).ok);
  t.is(s.size, 64);
  s.endAll();
  t.is(s.size, 0);
});

test('an unchanged state is not sent again before the heartbeat; a reader that stopped reading is dropped', (t) => {
  const { s, set } = streams();
  const { res } = open(s);
  const slow = open(s).res;
  const sent = res.chunks.length;
  s.tick();
  t.is(res.chunks.length, sent, 'nothing new to say');
  slow.writableLength = 10 * 1024 * 1024;
  set(3);
  s.tick();
  t.is(res.chunks.length, sent + 1);
  t.true(slow.destroyed);
  t.is(s.size, 1);
  s.endAll();
});
