// The server through OpenAI's own npm client: chat completions with
// reasoning_content, streaming, live control, cancellation on disconnect,
// 32 concurrent streams, errors, and the API key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { health, metric, startServer, waitFor } from './server.mjs';

let server;
let client;
before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});
after(async () => server?.stop());

const longThinking = { min_tokens: 16000, max_tokens: 16000, answer_max_tokens: 4 };

test('models lists the served model', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny']);
});

test('chat completion returns reasoning_content apart from the answer', async () => {
  const { data, response } = await client.chat.completions.create({
    model: 'tiny',
    messages: [{ role: 'user', content: 'What is 2+2?' }],
    max_tokens: 24,
    temperature: 0,
    thinking: { max_tokens: 6, answer_max_tokens: 5 },
  }).withResponse();
  assert.equal(response.headers.get('x-request-id'), data.id);
  const choice = data.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.reasoning_content, 'string');
  assert.equal(typeof choice.message.content, 'string');
  assert.equal(choice.thinking.tokens, 6);
  assert.equal(data.usage.completion_tokens_details.reasoning_tokens, 6);
  assert.equal(choice.finish_reason, 'stop');
});

test('streaming delivers reasoning and answer deltas and usage', async () => {
  const body = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 30, temperature: 0,
    thinking: { max_tokens: 10, answer_max_tokens: 8 } };
  const stream = await client.chat.completions.create({ ...body, stream: true,
    stream_options: { include_usage: true } });
  let reasoning = '';
  let content = '';
  let usage;
  const ids = new Set();
  for await (const chunk of stream) {
    ids.add(chunk.id);
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      reasoning += c.delta?.reasoning_content ?? '';
      content += c.delta?.content ?? '';
    }
  }
  assert.equal(ids.size, 1);
  const whole = await client.chat.completions.create(body);
  assert.equal(reasoning, whole.choices[0].message.reasoning_content);
  assert.equal(content, whole.choices[0].message.content);
  // The same prompt again is served from the prompt cache.
  const { prompt_tokens_details: streamedCache, ...streamed } = usage;
  const { prompt_tokens_details: wholeCache, ...again } = whole.usage;
  assert.deepEqual(streamed, again);
  assert.ok(streamedCache.cached_tokens <= usage.prompt_tokens);
  assert.equal(wholeCache.cached_tokens, whole.usage.prompt_tokens);
});

test("a conversation's next turn reuses the first turn's prompt from the cache", async () => {
  const question = { role: 'user', content: 'What is 12+30? Think it through.' };
  const body = { model: 'tiny', max_tokens: 24, temperature: 0, thinking: { max_tokens: 8, answer_max_tokens: 8 } };
  const first = await client.chat.completions.create({ ...body, messages: [question] });
  const second = await client.chat.completions.create({ ...body, messages: [question,
    { role: 'assistant', content: first.choices[0].message.content },
    { role: 'user', content: 'And 5+5?' }] });
  // Turn 2's prompt begins with turn 1's up to the assistant's opening (its
  // thinking, which the template drops from history, is not in it).
  assert.ok(second.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens - 2,
    JSON.stringify([first.usage, second.usage]));
  assert.ok(second.usage.prompt_tokens_details.cached_tokens < second.usage.prompt_tokens);
  assert.ok(await metric(server.url, 's1_tokens_total{kind="cached_prompt"}') > 0);
});

test('answer_now ends the thinking of a running stream, with the control token only', async () => {
  const { data: stream, response } = await client.chat.completions.create({ model: 'tiny',
    messages: [{ role: 'user', content: 'x' }], max_tokens: 16100, thinking: longThinking, stream: true,
    stream_options: { include_usage: true } }).withResponse();
  const token = response.headers.get('x-control-token');
  assert.match(token, /^[0-9a-f]{32}$/);
  let sent = false;
  let usage;
  for await (const chunk of stream) {
    if (!sent && chunk.choices[0]?.delta?.reasoning_content) {
      const answerNow = (headers) => fetch(`${server.url}/v1/requests/${chunk.id}/control`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ action: 'answer_now' }) });
      assert.equal((await answerNow({})).status, 404);  // another client: no token
      assert.equal((await answerNow({ 'X-Control-Token': token })).status, 200);
      sent = true;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(sent);
  assert.ok(usage.completion_tokens_details.reasoning_tokens < 16000);
});

test('a client that disconnects cancels its generation', async () => {
  const before = await metric(server.url, 's1_requests_cancelled_total');
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }],
    max_tokens: 16100, thinking: longThinking, stream: true });
  let seen = 0;
  for await (const chunk of stream) {
    if (++seen === 5) break;  // leaving the loop aborts the request
  }
  assert.ok(await waitFor(async () => (await health(server.url)).active === 0));
  assert.equal(await metric(server.url, 's1_requests_cancelled_total'), before + 1);
});

test('32 concurrent streaming clients all complete', async () => {
  const runs = Array.from({ length: 32 }, async (_, i) => {
    const stream = await client.chat.completions.create({ model: 'tiny',
      messages: [{ role: 'user', content: `client ${i}` }], max_tokens: 12, seed: i,
      thinking: { max_tokens: 4 }, stream: true });
    let finish = null;
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    return finish;
  });
  const finishes = await Promise.all(runs);
  assert.equal(finishes.length, 32);
  for (const f of finishes) assert.ok(f === 'stop' || f === 'length', `finish_reason ${f}`);
});

test('errors come back as OpenAI errors', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }],
    temperature: 9 }), (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  assert.equal((await health(server.url)).status, 'ok');
});

test('an API key is enforced when set', async () => {
  const locked = await startServer(['--api-key', 'sekret']);
  try {
    const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
    const right = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
    assert.equal((await right.models.list()).data[0].id, 'tiny');
  } finally {
    await locked.stop();
  }
});

test('SIGTERM drains: the stream in flight finishes, then the server exits cleanly', async () => {
  const s = await startServer();
  try {
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await c.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }],
      max_tokens: 2100, thinking: { min_tokens: 2000, max_tokens: 2000, answer_max_tokens: 2 }, stream: true,
      stream_options: { include_usage: true } });
    let usage;
    let signalled = false;
    for await (const chunk of stream) {
      if (!signalled) {
        s.child.kill('SIGTERM');
        signalled = true;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(usage.completion_tokens_details.reasoning_tokens, 2000);
    assert.equal(await s.exited, 0);
  } finally {
    await s.stop();
  }
});

test('logprobs: each answer token with its alternatives, streamed as in the whole response', async () => {
  const body = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 30, temperature: 0,
    thinking: { max_tokens: 4, answer_max_tokens: 12 }, logprobs: true, top_logprobs: 3 };
  const whole = await client.chat.completions.create(body);
  const choice = whole.choices[0];
  const entries = choice.logprobs.content;
  assert.equal(entries.length, choice.thinking.answer_tokens);
  assert.equal(Buffer.concat(entries.map((e) => Buffer.from(e.bytes))).toString(), choice.message.content);
  for (const e of entries) {
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.top_logprobs[0].token, e.token, 'greedy: the chosen token is the most likely');
    assert.ok(Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-6);
    for (let i = 1; i < 3; ++i) assert.ok(e.top_logprobs[i].logprob <= e.top_logprobs[i - 1].logprob);
    assert.ok(e.top_logprobs.reduce((sum, t) => sum + Math.exp(t.logprob), 0) <= 1 + 1e-6);
  }
  const streamed = [];
  for await (const chunk of await client.chat.completions.create({ ...body, stream: true }))
    streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed, entries);
  const completion = await client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 6, temperature: 0,
    logprobs: 2 });
  const lp = completion.choices[0].logprobs;
  assert.equal(lp.tokens.join(''), completion.choices[0].text);
  assert.equal(lp.text_offset[0], 0);
  await assert.rejects(client.chat.completions.create({ ...body, logprobs: false }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'top_logprobs');
});
