#!/usr/bin/env node
// Soak of a running `s1 serve` (loopback only): normal clients (streamed and
// whole chats, /health, /v1/models) alongside a hostile one cycling through
// issue 15's probes (oversized chunked bodies, slow headers, header floods,
// pipelining, garbage, 900 KB messages, foreign control tokens, hosts and
// content types, clients that vanish mid-stream). Every probe is bounded in
// size and time. Reports RSS over time, unexpected answers and normal-request
// latency (p50/p99). Run through bench/soak.sh, which starts the server.
//
//   node bench/soak.mjs --url http://127.0.0.1:8080 --pid PID [--seconds 600] [--json OUT]
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { rawExchange } from '../web/test/server.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => {
  if (a.startsWith('--')) pairs.push([a.slice(2), all[i + 1] ?? 'true']);
  return pairs;
}, []));
const url = args.url ?? 'http://127.0.0.1:8080';
const port = Number(new URL(url).port);
const pid = Number(args.pid);
const seconds = Number(args.seconds ?? 600);
const end = Date.now() + seconds * 1000;
const json = { 'Content-Type': 'application/json' };

const latencies = {};  // kind -> ms[]
const unexpected = {};  // "probe: got" -> count
const counts = {};
const rss = [];
const note = (table, key) => { table[key] = (table[key] ?? 0) + 1; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMb = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;

async function expect(kind, want, run) {
  note(counts, kind);
  const started = performance.now();
  let got;
  try {
    got = await run();
  } catch (e) {
    got = `error ${e.cause?.code ?? e.message}`;
  }
  if (got !== want) note(unexpected, `${kind}: ${got}`);
  (latencies[kind] ??= []).push(performance.now() - started);
}

const raw = (data, options) => rawExchange(port, data, options);
const status = (text) => Number(text.match(/^HTTP\/1\.[01] (\d+)/)?.[1] ?? 0);

async function chat(stream, i) {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify({
    messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 48, stream, seed: i,
    thinking: { max_tokens: 32, answer_max_tokens: 8 } }) });
  const text = await r.text();
  return r.status === 200 && (!stream || text.endsWith('data: [DONE]\n\n')) ? 200 : r.status;
}

async function normalClient(k) {
  for (let i = 0; Date.now() < end; ++i) {
    await expect('chat', 200, () => chat(false, i));
    await expect('chat (stream)', 200, () => chat(true, i));
    await expect('health', 200, async () => (await fetch(`${url}/health`)).status);
    await expect('models', 200, async () => (await fetch(`${url}/v1/models`)).status);
  }
}

const probes = [
  ['chunked 16 MB body', 413, async () => status(await raw(null, { ms: 10000, write: (s) => {
    s.on('error', () => {});
    s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Transfer-Encoding: chunked\r\n\r\n');
    const chunk = `10000\r\n${'a'.repeat(0x10000)}\r\n`;
    let n = 0;
    const pump = () => { while (n++ < 256 && !s.destroyed) if (!s.write(chunk)) return s.once('drain', pump); };
    pump();
  } }))],
  ['16 slow-header connections', 'closed', async () => {
    const sockets = Array.from({ length: 16 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    for (let i = 0; i < 5; ++i) { for (const s of sockets) s.write('G'); await sleep(1000); }
    for (const s of sockets) s.destroy();
    return 'closed';
  }],
  ['1000 header fields', 431, async () =>
    status(await raw(`GET /health HTTP/1.1\r\nHost: x\r\n${'X-a: b\r\n'.repeat(1000)}\r\n`))],
  ['pipelined triple', 3, async () => {
    const one = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    return [...(await raw(one + one + one, { ms: 1000 })).matchAll(/HTTP\/1\.1 200/g)].length;
  }],
  ['garbage', 400, async () => status(await raw('\x16\x03\x01 not http\r\n\r\n'))],
  ['900 KB message', 400, async () => (await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: json,
    body: JSON.stringify({ messages: [{ role: 'user', content: 'a'.repeat(900 << 10) }] }) })).status],
  ['foreign control token', 404, async () => {
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify({
      messages: [{ role: 'user', content: 'x' }], max_tokens: 40, stream: true }) });
    const steer = await fetch(`${url}/v1/requests/${r.headers.get('x-request-id')}/control`, { method: 'POST',
      headers: { ...json, 'X-Control-Token': '0'.repeat(32) }, body: '{"action":"answer_now"}' });
    await r.text();
    return steer.status;
  }],
  ['text/plain POST', 415, async () => (await fetch(`${url}/v1/chat/completions`, { method: 'POST',
    headers: { 'Content-Type': 'text/plain' }, body: '{}' })).status],
  ['foreign Host', 403, async () => status(await raw('GET /v1/models HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'))],
  ['client leaves mid-stream', 'left', async () => {
    const controller = new AbortController();
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: json, signal: controller.signal,
      body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], max_tokens: 2000, stream: true,
        thinking: { min_tokens: 1900, max_tokens: 1900 } }) });
    await r.body.getReader().read();
    controller.abort();
    return 'left';
  }],
];

async function hostileClient() {
  for (let i = 0; Date.now() < end; ++i) {
    const [kind, want, run] = probes[i % probes.length];
    await expect(`hostile: ${kind}`, want, run);
  }
}

const percentile = (xs, p) => xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN;

const started = Date.now();
const sampler = setInterval(() => rss.push([Math.round((Date.now() - started) / 1000), Math.round(rssMb())]), 10000);
rss.push([0, Math.round(rssMb())]);
await Promise.all([...Array.from({ length: 4 }, (_, k) => normalClient(k)), hostileClient()]);
clearInterval(sampler);
await sleep(3000);  // lingering connections close
rss.push([Math.round((Date.now() - started) / 1000), Math.round(rssMb())]);

const rows = Object.entries(latencies).map(([kind, ms]) => ({ kind, requests: counts[kind],
  p50_ms: +percentile(ms, 0.5).toFixed(1), p99_ms: +percentile(ms, 0.99).toFixed(1) }));
console.log(`soak: ${seconds} s against ${url}`);
console.log('| traffic | requests | p50 ms | p99 ms |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.kind} | ${r.requests} | ${r.p50_ms} | ${r.p99_ms} |`);
const every = Math.max(1, Math.floor(rss.length / 12));
console.log(`RSS MB over time (s: MB): ${rss.filter((_, i) => i % every === 0 || i === rss.length - 1)
  .map(([t, m]) => `${t}: ${m}`).join(', ')}`);
const errors = Object.entries(unexpected);
console.log(errors.length ? `unexpected answers:\n${errors.map(([k, n]) => `  ${k} (x${n})`).join('\n')}`
  : 'unexpected answers: none');
if (args.json) writeFileSync(args.json, JSON.stringify({ seconds, rows, rss, unexpected }, null, 1));
process.exitCode = errors.length ? 1 : 0;
