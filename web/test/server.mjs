// Starts `s1 serve` ($S1_BINARY) on a free loopback port over a tiny
// random-weight model made with `s1 mkmodel`; stop() ends it (SIGTERM).
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `model`: serve this file instead; `mkmodel`: the tiny model's `s1 mkmodel` arguments.
export async function startServer(extraArgs = [], { model: givenModel, mkmodel } = {}) {
  const s1 = process.env.S1_BINARY;
  if (!s1) throw new Error('set S1_BINARY to the built s1 binary');
  const dir = mkdtempSync(join(tmpdir(), 's1-web-'));
  const model = givenModel ?? join(dir, 'tiny.gguf');
  if (!givenModel) {
    execFileSync(s1, ['mkmodel', ...(mkmodel ?? ['--arch', 'qwen2', '--layers', '2', '--embd', '64', '--heads', '4',
      '--kv-heads', '2', '--ff', '96', '--ctx', '32768']), '-o', model]);
  }
  // Defaults, each unless extraArgs gives its own value.
  const defaults = [['--host', '127.0.0.1'], ['--port', '0'], ['-t', '1'], ['--ctx', '16384'], ['--parallel', '4']]
    .filter(([flag]) => !extraArgs.includes(flag)).flat();
  const child = spawn(s1, ['serve', '-m', model, ...defaults, ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s1 serve did not start:\n${log}`)), 30000);
    child.stderr.on('data', (data) => {
      log += data;
      const m = log.match(/http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then((code) => reject(new Error(`s1 serve exited (${code}):\n${log}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    child,
    exited,
    get log() { return log; },  // its stderr so far
    async stop() {
      // The first SIGTERM drains (requests in flight finish); the second stops at once.
      child.kill('SIGTERM');
      const again = setTimeout(() => child.kill('SIGTERM'), 200);
      await exited;
      clearTimeout(again);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function health(url) {
  return (await fetch(`${url}/health`)).json();
}

export async function metric(url, sample) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

export async function waitFor(condition, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// One raw TCP exchange with a server on 127.0.0.1: writes `data` (or calls
// `write(socket)`), collects what comes back until the server closes or `ms`
// pass. For requests no HTTP client would send.
export function rawExchange(port, data, { ms = 5000, write } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => { clearTimeout(timer); socket.destroy(); resolve(got); };
    const timer = setTimeout(done, ms);
    socket.on('data', (d) => { got += d.toString('latin1'); });
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => (write ? write(socket) : socket.write(data)));
  });
}
