#!/usr/bin/env node
// What the prompt cache buys a running `s1 serve`, one request at a time (so
// requests in flight never share a prefix and only the cache can help):
//   conversation: 10 chat turns, each with the earlier ones in its messages;
//                 time to first token of each turn and its cached_tokens.
//   eval:         N questions behind one shared ~1K-token few-shot prefix;
//                 prompt tokens per second over the whole run.
//
//   node bench/prompt_cache.mjs --url http://127.0.0.1:8080 [--questions 12] [--json]
//
// bench/prompt_cache.sh starts the server with and without the cache, alternately.
import { readEvents } from '../web/src/sse.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => {
  if (a.startsWith('--')) pairs.push([a.slice(2), all[i + 1]?.startsWith('--') ? 'true' : all[i + 1] ?? 'true']);
  return pairs;
}, []));
const url = args.url ?? 'http://127.0.0.1:8080';
const questions = Number(args.questions ?? 12);

// Streams one chat completion; returns its time to first token (ms), usage and answer.
async function chat(messages) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages, max_tokens: 16, temperature: 0, stream: true,
      stream_options: { include_usage: true } }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let ttft = null;
  let usage = null;
  let answer = '';
  await readEvents(response, (chunk) => {
    if (chunk.usage) usage = chunk.usage;
    const delta = chunk.choices?.[0]?.delta;
    if (ttft === null && (delta?.reasoning_content || delta?.content)) ttft = performance.now() - started;
    answer += delta?.content ?? '';
  });
  return { ttft, usage, answer, ms: performance.now() - started };
}

// A user message of about 120 tokens, different every turn.
function paragraph(turn) {
  const words = [];
  for (let i = 0; i < 90; ++i) words.push(['river', 'stone', 'seven', 'lantern', 'orbit', 'meadow'][(i * 7 + turn) % 6]);
  return `Turn ${turn}. Summarize this in one line: ${words.join(' ')}.`;
}

async function conversation() {
  const messages = [{ role: 'system', content: 'You are a concise assistant.' }];
  const turns = [];
  for (let turn = 1; turn <= 10; ++turn) {
    messages.push({ role: 'user', content: paragraph(turn) });
    const r = await chat(messages);
    turns.push({ turn, ttft_ms: r.ttft, prompt_tokens: r.usage.prompt_tokens,
      cached_tokens: r.usage.prompt_tokens_details?.cached_tokens ?? 0 });
    messages.push({ role: 'assistant', content: r.answer });
  }
  return turns;
}

async function evaluation() {
  let shots = '';
  for (let i = 0; shots.length < 4200; ++i) shots += `Q: What is ${i * 13 % 97} plus ${i * 7 % 89}? A: ${i * 13 % 97 + i * 7 % 89}.\n`;
  const started = performance.now();
  let prompt = 0, cached = 0;
  for (let q = 0; q < questions; ++q) {
    const r = await chat([{ role: 'user', content: `${shots}Q: What is ${q + 11} plus ${q * 3 + 5}? A:` }]);
    prompt += r.usage.prompt_tokens;
    cached += r.usage.prompt_tokens_details?.cached_tokens ?? 0;
  }
  const seconds = (performance.now() - started) / 1000;
  return { questions, prompt_tokens: prompt, cached_tokens: cached, seconds, prompt_tps: prompt / seconds };
}

const turns = await conversation();
const evalRun = await evaluation();
const result = { turns, eval: evalRun };
if (args.json === 'true') {
  console.log(JSON.stringify(result));
} else {
  for (const t of turns)
    console.log(`turn ${String(t.turn).padStart(2)}: ttft ${t.ttft_ms.toFixed(0).padStart(6)} ms, ` +
      `prompt ${t.prompt_tokens}, cached ${t.cached_tokens}`);
  console.log(`eval: ${questions} questions, ${evalRun.prompt_tokens} prompt tokens (${evalRun.cached_tokens} cached) ` +
    `in ${evalRun.seconds.toFixed(2)} s: ${evalRun.prompt_tps.toFixed(0)} prompt tokens/s`);
}
