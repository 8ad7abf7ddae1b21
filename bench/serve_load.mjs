#!/usr/bin/env node
// Load test of a running `s1 serve`: aggregate generated tokens/s and time to
// first token (p50/p99) at several numbers of concurrent streaming clients.
// Every request thinks exactly --tokens tokens (thinking min = max) and
// answers one token, so all levels do the same work per request.
//
//   node bench/serve_load.mjs --url http://127.0.0.1:8080 --streams 1,4,8,16 --tokens 64 --rounds 2
//
// Needs only node (>= 18, for fetch); prints a table and, with --json, one JSON line.
import { readEvents } from '../web/src/sse.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => {
  if (a.startsWith('--')) pairs.push([a.slice(2), all[i + 1]?.startsWith('--') ? 'true' : all[i + 1] ?? 'true']);
  return pairs;
}, []));
const url = args.url ?? 'http://127.0.0.1:8080';
const levels = (args.streams ?? '1,4,8,16').split(',').map(Number);
const tokens = Number(args.tokens ?? 64);
const rounds = Number(args.rounds ?? 2);  // requests per client at each level

async function oneRequest(i) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: `Question ${i}: why is the sky blue?` }],
      max_tokens: tokens + 8,
      seed: i,
      thinking: { min_tokens: tokens, max_tokens: tokens, answer_max_tokens: 1 },
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let ttft = null;
  let generated = 0;
  await readEvents(response, (chunk) => {
    const delta = chunk.choices?.[0]?.delta;
    if (ttft === null && (delta?.reasoning_content || delta?.content)) ttft = performance.now() - started;
    if (chunk.usage) generated = chunk.usage.completion_tokens;
  });
  return { ttft: ttft ?? performance.now() - started, generated };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const results = [];
await oneRequest(0);  // warm-up
for (const streams of levels) {
  const started = performance.now();
  const runs = await Promise.all(Array.from({ length: streams }, async (_, client) => {
    const out = [];
    for (let r = 0; r < rounds; r += 1) out.push(await oneRequest(1000 * streams + client * rounds + r));
    return out;
  }));
  const seconds = (performance.now() - started) / 1000;
  const all = runs.flat();
  const generated = all.reduce((sum, r) => sum + r.generated, 0);
  const ttfts = all.map((r) => r.ttft);
  results.push({ streams, requests: all.length, tokens: generated, seconds,
    tokens_per_second: generated / seconds, ttft_p50_ms: percentile(ttfts, 50), ttft_p99_ms: percentile(ttfts, 99) });
}

console.log('streams  requests  tokens  seconds  tokens/s  TTFT p50 ms  TTFT p99 ms');
for (const r of results) {
  console.log(`${String(r.streams).padStart(7)}  ${String(r.requests).padStart(8)}  ${String(r.tokens).padStart(6)}  ` +
    `${r.seconds.toFixed(2).padStart(7)}  ${r.tokens_per_second.toFixed(1).padStart(8)}  ` +
    `${r.ttft_p50_ms.toFixed(0).padStart(11)}  ${r.ttft_p99_ms.toFixed(0).padStart(11)}`);
}
const one = results.find((r) => r.streams === 1);
const eight = results.find((r) => r.streams === 8);
if (one && eight) console.log(`speed-up 1 -> 8 streams: ${(eight.tokens_per_second / one.tokens_per_second).toFixed(2)}x`);
if (args.json) console.log(JSON.stringify(results));
