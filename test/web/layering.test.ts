/**
 * The shape src/web keeps (DESIGN.md, issue 14): it acts only through the
 * operations, holds no SQL, has its HTTP helpers in one module, and its
 * modules import each other without a cycle.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

const WEB = join(packageRoot, 'src', 'web');
const sources = new Map(readdirSync(WEB).filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(join(WEB, f), 'utf8')]));

/** The modules a file imports at run time (type-only imports vanish when compiled). */
function runtimeImports(source: string): string[] {
  return [...source.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)].map((m) => m[1]!);
}

test('src/web reaches the database only through the operations: no store import, no Store call, no SQL', (t) => {
  t.true(sources.size >= 10);
  for (const [file, source] of sources) {
    t.notRegex(source, /from '\.\.\/store\//, `${file} imports from src/store`);
    t.notRegex(source, /\bstore\.\w+\(|deps\.store\b/, `${file} calls the Store`);
    t.notRegex(source, /\b(SELECT\s+[\w*]|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b/, `${file} holds SQL`);
  }
});

test('the HTTP helpers are defined once, in src/web/http.ts', (t) => {
  for (const helper of ['sendText', 'sendJson', 'sendHtml', 'readBody', 'readForm', 'redirect', 'clientAddress', 'jsonError', 'sendRefusal']) {
    const defining = [...sources].filter(([, source]) => new RegExp(`(function|const)\\s+${helper}\\b`).test(source)).map(([file]) => file);
    t.deepEqual(defining, ['http.ts'], helper);
  }
});

test('src/web has no import cycle', (t) => {
  const graph = new Map([...sources].map(([file, source]) => [file, runtimeImports(source).filter((m) => m.startsWith('./')).map((m) => m.slice(2).replace(/\.js$/, '.ts'))]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  t.deepEqual(cycles, []);
  t.true(graph.get('server.ts')!.includes('admin.ts') && graph.get('server.ts')!.includes('api.ts'), 'the graph was read');
});
