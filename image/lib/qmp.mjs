// A minimal QMP client: `node qmp.mjs SOCKET '{"execute":…}'` prints the
// command's "return" as JSON (exit 1 on an "error"). Also imported by the
// other scripts here as qmpCommand().
import { createConnection } from 'node:net';
import { pathToFileURL } from 'node:url';

export function qmpCommand(socket, command, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const timer = setTimeout(() => { conn.destroy(); reject(new Error(`QMP: no answer within ${timeoutMs} ms`)); }, timeoutMs);
    let buffer = '';
    let stage = 'greeting';
    conn.on('error', (err) => { clearTimeout(timer); reject(err); });
    conn.on('data', (chunk) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line);
        if ('event' in message) continue; // asynchronous events interleave with answers
        if (stage === 'greeting') {
          stage = 'capabilities';
          conn.write('{"execute":"qmp_capabilities"}\n');
        } else if (stage === 'capabilities') {
          stage = 'command';
          conn.write(JSON.stringify(command) + '\n');
        } else {
          clearTimeout(timer);
          conn.end();
          if ('error' in message) reject(new Error(`QMP ${command.execute}: ${message.error.desc}`));
          else resolve(message.return);
          return;
        }
      }
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [socket, command] = process.argv.slice(2);
  qmpCommand(socket, JSON.parse(command))
    .then((ret) => process.stdout.write(JSON.stringify(ret) + '\n'))
    .catch((err) => { process.stderr.write(`${err.message}\n`); process.exit(1); });
}
