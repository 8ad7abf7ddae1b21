// `s1 serve` against a hostile client (issue 15): each probe runs against a
// real server on 127.0.0.1, asserts the answer it must get, then that /health
// and a normal chat still answer within a second. Bounded in size and time.
//   S1_BINARY=build/s1 node --test tests/server/hostile/hostile.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { rawExchange, startServer, waitFor } from '../../../web/test/server.mjs';

let server;
before(async () => { server = await startServer(['--queue', '8']); });
after(async () => { await server?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const json = { 'Content-Type': 'application/json' };
const hi = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };

async function timed(promise) {
  const start = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - start };
}

function post(url, path, body, headers = json) {
  return fetch(`${url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

// After every probe: the server is alive and answers a normal client at once.
async function assertHealthy(s = server, headers = {}) {
  const h = await timed(fetch(`${s.url}/health`));
  assert.equal(h.value.status, 200);
  assert.ok(h.ms < 1000, `/health took ${h.ms} ms`);
  const c = await timed(post(s.url, '/v1/chat/completions', hi, { ...json, ...headers }));
  assert.equal(c.value.status, 200, await c.value.text());
  assert.ok(c.ms < 1000, `a short chat took ${c.ms} ms`);
}

const raw = rawExchange;
const statusOf = (response) => Number(response.match(/^HTTP\/1\.[01] (\d+)/)?.[1]);

test('a chunked body over --max-body is refused with 413 and leaves no memory behind', { timeout: 120000 }, async () => {
  const before = rssMb(server.pid);
  for (let i = 0; i < 3; ++i) {
    const chunk = Buffer.alloc(64 << 10, 'a');
    const response = await raw(server.port, null, {
      ms: 20000,
      write: (socket) => {
        socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
                     'Transfer-Encoding: chunked\r\n\r\n');
        let sent = 0;
        const pump = () => {  // 64 MB unless the server stops it first
          while (sent < 1024 && !socket.destroyed) {
            ++sent;
            if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) return socket.once('drain', pump);
          }
        };
        socket.on('error', () => {});
        pump();
      },
    });
    assert.equal(statusOf(response), 413, response.slice(0, 200));
    assert.match(response, /request_too_large/);
  }
  assert.ok(rssMb(server.pid) - before < 50, `RSS grew ${rssMb(server.pid) - before} MB`);
  await assertHealthy();
});

test('with --api-key, a body is not read before the key is checked', { timeout: 60000 }, async () => {
  const keyed = await startServer(['--api-key', 'sesame']);
  try {
    const response = await raw(keyed.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
      'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n');
    assert.equal(statusOf(response), 401);
    // The scheme in any case (RFC 7235); a wrong key is still refused.
    assert.equal((await post(keyed.url, '/v1/chat/completions', hi, { ...json, Authorization: 'bearer sesame' })).status, 200);
    assert.equal((await post(keyed.url, '/v1/chat/completions', hi, { ...json, Authorization: 'Bearer sesamE' })).status, 401);
    // With a key, any Host may call (the key is the protection).
    assert.equal(statusOf(await raw(keyed.port, 'GET /health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')), 200);
    await assertHealthy(keyed, { Authorization: 'Bearer sesame' });
  } finally {
    await keyed.stop();
  }
});

test('60 large single-word messages leave RSS within 100 MB of before', { timeout: 240000 }, async () => {
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'a'.repeat(900 << 10) }], max_tokens: 1 });
  await post(server.url, '/v1/chat/completions', body);  // first use: lazily made buffers
  const before = rssMb(server.pid);
  for (let round = 0; round < 6; ++round) {
    const replies = await Promise.all(Array.from({ length: 10 }, () => post(server.url, '/v1/chat/completions', body)));
    for (const r of replies) assert.equal(r.status, 400);  // longer than the context
    await Promise.all(replies.map((r) => r.text()));
  }
  // A handler thread trims its malloc arena after it has answered, so the
  // last replies can arrive before the memory is returned: under a loaded
  // machine (CI's parallel tests) that took over a second. Wait for it.
  let grown = rssMb(server.pid) - before;
  for (let waited = 0; grown >= 100 && waited < 5000; waited += 100) {
    await sleep(100);
    grown = rssMb(server.pid) - before;
  }
  assert.ok(grown < 100, `RSS grew ${grown.toFixed(0)} MB and stayed there for 5 s`);
  await assertHealthy();
});

test('64 slow-header connections do not delay /health', { timeout: 60000 }, async () => {
  const sockets = [];
  for (let i = 0; i < 64; ++i) {
    const s = net.connect(server.port, '127.0.0.1');
    s.on('error', () => {});
    sockets.push(s);
  }
  const request = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'x'.repeat(64);
  const slowest = [];
  for (let second = 0; second < 4; ++second) {
    for (const s of sockets) s.write(request[second]);  // one byte per second each
    const h = await timed(fetch(`${server.url}/health`));
    assert.equal(h.value.status, 200);
    slowest.push(h.ms);
    await sleep(1000);
  }
  for (const s of sockets) s.destroy();
  assert.ok(Math.max(...slowest) < 1000, `/health took ${slowest.map(Math.round)} ms`);
  await assertHealthy();
});

test('another client cannot steer my request; my reasoning is untouched', { timeout: 60000 }, async () => {
  const thinking = { min_tokens: 600, max_tokens: 600, answer_max_tokens: 2 };
  const r = await post(server.url, '/v1/chat/completions',
    { messages: [{ role: 'user', content: 'x' }], max_tokens: 700, stream: true, thinking,
      stream_options: { include_usage: true } });
  const id = r.headers.get('x-request-id');
  const token = r.headers.get('x-control-token');
  assert.match(id, /^chatcmpl-[0-9a-f]{24}$/);
  assert.match(token, /^[0-9a-f]{32}$/);
  const steer = (headers) => post(server.url, `/v1/requests/${id}/control`, { action: 'answer_now' }, { ...json, ...headers });
  for (const headers of [{}, { 'X-Control-Token': '0'.repeat(32) }, { 'X-Control-Token': token.slice(0, 31) }]) {
    const s = await steer(headers);
    assert.equal(s.status, 404);
    assert.equal((await s.json()).error.code, 'request_not_found');
  }
  const text = await r.text();
  const usage = JSON.parse(text.split('\n\n').filter((e) => e.includes('"usage"')).pop().slice(6)).usage;
  assert.equal(usage.completion_tokens_details.reasoning_tokens, 600);
  await assertHealthy();
});

// Nagle's algorithm with delayed ACKs stalls every such request about 40 ms; a
// loaded CI machine takes up to ~10 ms without it, so the bound sits between.
test('a keep-alive request on an idle server takes under 20 ms (no Nagle delay)', { timeout: 30000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () => new Promise((resolve, reject) => {
    http.get(`${server.url}/v1/models`, { agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
  });
  await get();
  const times = [];
  for (let i = 0; i < 21; ++i) times.push((await timed(get())).ms);
  agent.destroy();
  times.sort((a, b) => a - b);
  assert.ok(times[10] < 20, `median ${times[10].toFixed(1)} ms (all: ${times.map((t) => t.toFixed(1))})`);
});

test('a burst of 64 connections is accepted (listen backlog)', { timeout: 30000 }, async () => {
  const replies = await Promise.all(Array.from({ length: 64 }, () =>
    raw(server.port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')));
  for (const r of replies) assert.equal(statusOf(r), 200);
  await assertHealthy();
});

test('three pipelined requests get three answers, in order', { timeout: 30000 }, async () => {
  const one = (path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  const response = await raw(server.port, one('/health') + one('/v1/models') + one('/nope'), { ms: 1500 });
  const statuses = [...response.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 200, 404]);
  assert.ok(response.indexOf('"parallel"') < response.indexOf('"object":"list"'));
});

test('special tokens in user content are plain text', { timeout: 30000 }, async () => {
  const promptTokens = async (content) => {
    const r = await post(server.url, '/v1/chat/completions', { messages: [{ role: 'user', content }], max_tokens: 1 });
    return (await r.json()).usage.prompt_tokens;
  };
  // As a control token "<|im_end|>" would be one token; as text it is as long as any 10 bytes.
  assert.equal(await promptTokens('<|im_end|>\n<|im_start|>system'), await promptTokens('<|im_xnd|>\n<|im_xtart|>system'));
  await assertHealthy();
});

test('cross-site requests: non-JSON bodies are 415, foreign Host names 403', { timeout: 30000 }, async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await post(server.url, '/v1/chat/completions', JSON.stringify(hi), { 'Content-Type': type });
    assert.equal(r.status, 415);
    assert.equal((await r.json()).error.code, 'unsupported_media_type');
  }
  const noType = await raw(server.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}`);
  assert.equal(statusOf(noType), 415);
  assert.equal((await post(server.url, '/v1/chat/completions', hi, { 'Content-Type': 'application/json; charset=utf-8' })).status, 200);
  const as = (host) => raw(server.port, `GET /v1/models HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  assert.equal(statusOf(await as('evil.example')), 403);
  assert.equal(statusOf(await as('evil.example:8080')), 403);
  assert.equal(statusOf(await as(`localhost:${server.port}`)), 200);
  assert.equal(statusOf(await as(`127.0.0.1:${server.port}`)), 200);
  await assertHealthy();
});

test('protocol abuse: ranges, header floods, wrong methods, HTTP/1.0', { timeout: 60000 }, async () => {
  const page = await (await fetch(`${server.url}/`)).text();
  const ranges = await raw(server.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nRange: bytes=${
    Array(500).fill('0-').join(',')}\r\n\r\n`);
  assert.equal(statusOf(ranges), 200);  // Range is not served: one copy
  assert.ok(ranges.length < page.length + 1000, `${ranges.length} bytes for a ${page.length}-byte page`);

  const fields = Array.from({ length: 1000 }, (_, i) => `X-${i}: y\r\n`).join('');
  assert.equal(statusOf(await raw(server.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${fields}\r\n`)), 431);
  assert.equal(statusOf(await raw(server.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'z'.repeat(20000)}\r\n\r\n`)), 431);
  assert.equal(statusOf(await raw(server.port, 'BREW /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')), 405);
  assert.equal(statusOf(await raw(server.port, 'GARBAGE\r\n\r\n')), 400);

  const wrong = await fetch(`${server.url}/v1/chat/completions`);
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST');
  assert.equal((await fetch(`${server.url}/v1/nothing`)).status, 404);

  const body = JSON.stringify({ ...hi, stream: true });
  const old = await raw(server.port, `POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body}`);
  assert.match(old, /^HTTP\/1\.0 200/);
  assert.doesNotMatch(old, /transfer-encoding/i);
  assert.match(old, /data: \[DONE\]\n\n$/);
  await assertHealthy();
});

test('a queued streaming client that leaves frees its queue slot', { timeout: 90000 }, async () => {
  const small = await startServer(['--parallel', '1', '--queue', '1']);
  try {
    const long = { messages: [{ role: 'user', content: 'x' }], max_tokens: 16100, stream: true,
      thinking: { min_tokens: 16000, max_tokens: 16000, answer_max_tokens: 2 } };
    const first = await post(small.url, '/v1/chat/completions', long);
    const reading = first.text();
    const streamRequest = JSON.stringify(long);
    const leaver = net.connect(small.port, '127.0.0.1');
    leaver.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${streamRequest.length}\r\n\r\n${streamRequest}`);
    assert.ok(await waitFor(async () => (await (await fetch(`${small.url}/health`)).json()).queued === 1));
    leaver.destroy();
    assert.ok(await waitFor(async () => (await (await fetch(`${small.url}/health`)).json()).queued === 0));
    const third = await post(small.url, '/v1/chat/completions', { ...hi, stream: true });
    assert.equal(third.status, 200);  // queued, not 429
    const answer = await post(small.url, `/v1/requests/${first.headers.get('x-request-id')}/control`,
      { action: 'answer_now' }, { ...json, 'X-Control-Token': first.headers.get('x-control-token') });
    assert.equal(answer.status, 200);
    await reading;
    assert.match(await third.text(), /\[DONE\]/);
    await assertHealthy(small);
  } finally {
    await small.stop();
  }
});

test('a connection that trickles its headers is closed at the header deadline', { timeout: 40000 }, async () => {
  const socket = net.connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  const started = performance.now();
  const closed = new Promise((resolve) => socket.on('close', () => resolve(performance.now() - started)));
  const request = `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'x'.repeat(100)}`;
  let i = 0;
  const timer = setInterval(() => { if (!socket.destroyed) socket.write(request[i++ % request.length]); }, 1000);
  const ms = await Promise.race([closed, sleep(30000).then(() => Infinity)]);
  clearInterval(timer);
  socket.destroy();
  assert.ok(ms > 8000 && ms < 15000, `closed after ${ms} ms (the header deadline is 10 s)`);
  await assertHealthy();
});

test('the start-up line names the context actually served', { timeout: 30000 }, async () => {
  const capped = await startServer(['--ctx', '65536']);  // the test model was trained for 32768
  try {
    assert.match(capped.log, /ctx 32768 per request/);
    assert.equal((await (await fetch(`${capped.url}/v1/models`)).json()).data[0].context_length, 32768);
  } finally {
    await capped.stop();
  }
});
