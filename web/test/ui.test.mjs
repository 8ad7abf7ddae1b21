// The chat UI in headless Chromium (Debian's, driven by playwright-core):
// ask from the keyboard, watch the thinking stream, press "Answer now", see
// the answer; a screenshot is saved ($S1_SCREENSHOT, default in the temp dir). Then
// the n-sample mode: every sample shown, and the vote; then scripted streams.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { settledLength } from '../src/markdown.js';
import { startServer } from './server.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('ask, watch the thinking, answer now, see the answer', { timeout: 120000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('tiny'));

  // No budget limit and a long minimum: the thinking runs until we intervene.
  await page.$eval('#budget', (e) => {
    e.value = e.max;
    e.dispatchEvent(new Event('input'));
  });
  assert.equal(await page.textContent('#budget-value'), 'no limit');
  await page.fill('#min-thinking', '16000');
  await page.focus('#prompt');
  await page.keyboard.type('Why is the sky blue?');
  await page.keyboard.press('Enter');

  const turn = page.locator('.turn.assistant').last();
  await page.waitForFunction(() => {
    const counter = document.querySelector('.turn.assistant .thinking-count');
    return counter && Number(counter.textContent) >= 10;
  });
  assert.equal(await turn.getAttribute('data-state'), 'streaming');
  // The text is drawn a frame behind the counter (on a loaded machine, 10 tokens later).
  await page.waitForFunction(() => document.querySelector('.turn.assistant .thinking-text').textContent.length > 0);
  assert.equal(await turn.getAttribute('data-state'), 'streaming');
  // The thinking box follows the stream once it overflows.
  await page.waitForFunction(() => {
    const box = document.querySelector('.turn.assistant .thinking-text');
    return box.scrollHeight > box.clientHeight + 50 && box.scrollTop + box.clientHeight >= box.scrollHeight - 30;
  }, null, { timeout: 60000 });

  await page.getByRole('button', { name: 'Answer now' }).click();
  await page.waitForSelector('.turn.assistant[data-state="done"]', { timeout: 90000 });

  const stats = await turn.locator('.stats').textContent();
  const m = stats.match(/cost: (\d+) tokens \((\d+) thinking, (\d+) answer\)/);
  assert.ok(m, `stats line: ${stats}`);
  const [thinking, answered] = [Number(m[2]), Number(m[3])];
  assert.ok(thinking < 16000, `thinking ${thinking} tokens: Answer now did not end it`);
  assert.equal(await turn.locator('.thinking-count').textContent(), String(thinking));
  assert.match(await turn.locator('summary').textContent(), /^Thought for/);
  const answer = await turn.locator('.answer-text').innerHTML();  // rendered Markdown
  assert.equal(answer.length > 0, answered > 0, `answer '${answer}' with ${answered} answer tokens`);
  assert.equal(await page.getByRole('button', { name: 'Send' }).isEnabled(), true);

  const path = process.env.S1_SCREENSHOT ?? join(tmpdir(), 's1-web-ui.png');
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 0);
});

test('samples mode shows every sample and the vote', { timeout: 120000 }, async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('tiny'));
  await page.$eval('#budget', (e) => {
    e.value = '64';
    e.dispatchEvent(new Event('input'));
  });
  await page.selectOption('#samples', '4');
  await page.selectOption('#aggregate', 'best');
  await page.fill('#prompt', 'Pick a number.');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForSelector('.turn.assistant[data-state="done"]', { timeout: 90000 });
  const turn = page.locator('.turn.assistant').last();
  assert.equal(await turn.locator('.sample').count(), 4);
  const vote = await turn.locator('.vote').textContent();
  assert.match(vote, /^Vote \(best\): .* — \d+ of 4 samples$/);
  // Random weights rarely write an extractable answer; a winner is marked exactly when there is one.
  const extracted = !vote.includes('(no answer extracted)');
  assert.equal(await turn.locator('.sample.winner').count(), extracted ? 1 : 0);
  for (const count of await turn.locator('.thinking-count').allTextContents()) assert.ok(Number(count) <= 64);
});

// An adaptive vote that settles after 2 of 4 samples (the server's shape,
// scripted): the samples it never started are not shown, and the vote says so.
test('an adaptive vote shows the samples it used', { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  const chunk = (choices) => `data: ${JSON.stringify({ id: 'chatcmpl-v', choices })}\n\n`;
  const delta = (index, d, finish = null) => ({ index, delta: d, finish_reason: finish });
  const stream = [chunk([0, 1, 2, 3, 4].map((i) => delta(i, { role: 'assistant', content: '' }))),
    chunk([delta(1, { content: '\\boxed{4}' }), delta(2, { content: '\\boxed{4}' })]),
    chunk([delta(1, {}, 'stop'), delta(2, {}, 'stop'), { ...delta(0, { role: 'assistant', content: '\\boxed{4}' }, 'stop'),
      vote: { method: 'adaptive', answer: '4', votes: 2, samples: 2, winner: 1 } }]), 'data: [DONE]\n\n'];
  await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200,
    headers: { 'Content-Type': 'text/event-stream', 'X-Request-Id': 'chatcmpl-v' }, body: stream.join('') }));
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('tiny'));
  await page.selectOption('#samples', '4');
  await page.selectOption('#aggregate', 'adaptive');
  await page.fill('#prompt', '2 + 2?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForSelector('.turn.assistant[data-state="done"]');
  const turn = page.locator('.turn.assistant').last();
  assert.equal(await turn.locator('.sample').count(), 2);
  assert.equal(await turn.locator('.vote').textContent(),
    'Vote (adaptive): 4 — 2 of 2 samples (settled after 2 of the 4 allowed)');
  assert.equal(await turn.locator('.sample.winner').count(), 1);
});

// The server's search and tool-call shapes (checked against the server in
// structured.test.mjs) as the UI shows them: a scripted stream, answered by
// the browser's own network layer.
test('searches, sources and tool calls are shown', { timeout: 60000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 800 } });
  const cite = { type: 'url_citation', url_citation: { url: '/docs/paris.md', title: 'Paris', start_index: 9, end_index: 48 } };
  const chunk = (delta, extra = {}) => `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: null, ...extra }] })}\n\n`;
  const streams = [
    [chunk({ role: 'assistant', content: '' }), chunk({ reasoning_content: 'Let me look.' }),
      chunk({ search: { query: 'paris weather', annotations: [cite] } }), chunk({ reasoning_content: ' Found it.' }),
      chunk({ content: '**Mild** in spring, ' }), chunk({ content: 'about $x^2$.' }),
      chunk({ content: '\n\n<img src=x onerror="window.pwned = 1">' }),
      chunk({ annotations: [cite] }, { finish_reason: 'stop' }), 'data: [DONE]\n\n'],
    [chunk({ role: 'assistant', content: '' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, { finish_reason: 'tool_calls' }),
      'data: [DONE]\n\n'],
  ];
  // A model with a small context: the budget slider stops at it.
  await page.route('**/v1/models', (route) => route.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify({ object: 'list', data: [{ id: 'tiny', object: 'model', context_length: 2000,
      thinking_format: 'think' }] }) }));
  await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200,
    headers: { 'Content-Type': 'text/event-stream', 'X-Request-Id': 'chatcmpl-x', 'X-Control-Token': 't' },
    body: streams.shift().join('') }));
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('tiny'));
  assert.equal(await page.$eval('#budget', (e) => e.max), '1984');
  assert.equal(await page.$eval('#budget', (e) => e.value), '1024');
  await page.fill('#prompt', 'Weather in Paris?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForSelector('.turn.assistant[data-state="done"]');
  let turn = page.locator('.turn.assistant').last();
  assert.equal(await turn.locator('.search-query').textContent(), 'Searched “paris weather”');
  const parts = turn.locator('.thinking-text > *');
  assert.deepEqual(await parts.evaluateAll((all) => all.map((p) => p.textContent.trim())),
    ['Let me look.', 'Searched “paris weather”Paris — /docs/paris.md', 'Found it.']);
  // Markdown and LaTeX rendered (KaTeX as MathML), the model's HTML made harmless.
  assert.equal(await turn.locator('.answer-text strong').textContent(), 'Mild');
  assert.equal(await turn.locator('.answer-text math').count(), 1);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await turn.locator('.answer-text [onerror]').count(), 0);
  assert.deepEqual(await turn.locator('.sources li').allTextContents(), ['Paris — /docs/paris.md']);

  await page.fill('#prompt', 'And now?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.turn.assistant[data-state="done"]').length === 2);
  turn = page.locator('.turn.assistant').last();
  assert.equal(await turn.locator('.tool-name').textContent(), 'get_weather');
  assert.equal(await turn.locator('.tool-arguments').textContent(), '{"city":"Paris"}');
  // A compact header, and nothing wider than the phone.
  assert.ok((await page.locator('header').boundingBox()).height <= 90, 'header at most two short lines');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390));
  const path = (process.env.S1_SCREENSHOT ?? join(tmpdir(), 's1-web-ui.png')).replace(/\.png$/, '-390.png');
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 0);
});

// The thinking box renders a stretch's finished paragraphs once and the rest
// each frame: where a stretch may be cut.
test('thinking is cut only where its Markdown is finished', () => {
  assert.equal(settledLength('One.\n\nTwo.\n\nThr'), 12);
  assert.equal(settledLength('One.\n\n'), 0, 'the next line may be indented');
  assert.equal(settledLength('- item\n\n  more of it'), 0);
  assert.equal(settledLength('```\na\n\nb'), 0, 'in a code block');
  assert.equal(settledLength('```\na\n```\n\nb'), 11);
  assert.equal(settledLength('$$\nx\n\ny'), 0, 'in a display formula');
  assert.equal(settledLength('\\[\nx\n\ny'), 0);
  assert.equal(settledLength('No break yet'), 0);
});

// The thinking as Markdown and LaTeX too, through the answer's sanitizer, with
// the searches in place between its stretches; again when restored from the
// browser's storage. Chunks split inside ** and $...$: what is rendered is the text, not each chunk.
test('thinking is rendered as Markdown and LaTeX, searches in place', { timeout: 60000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: 'chatcmpl-z', choices: [{ index: 0, delta,
    finish_reason: finish }] })}\n\n`;
  const stream = [chunk({ role: 'assistant', content: '' }), chunk({ reasoning_content: 'Some **bo' }),
    chunk({ reasoning_content: 'ld** thought about $x^' }), chunk({ reasoning_content: '2$.\n\n<img src=x ' }),
    chunk({ reasoning_content: 'onerror="window.pwned = 1">' }),
    chunk({ search: { query: 'squares', annotations: [{ type: 'url_citation',
      url_citation: { url: '/docs/squares.md', title: 'Squares', start_index: 0, end_index: 10 } }] } }),
    chunk({ reasoning_content: 'Then *more*.\n\n```\nfirst\n\nsecond\n```' }), chunk({ content: 'Done.' }, 'stop'),
    'data: [DONE]\n\n'];
  await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200,
    headers: { 'Content-Type': 'text/event-stream', 'X-Request-Id': 'chatcmpl-z' }, body: stream.join('') }));
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('tiny'));
  await page.fill('#prompt', 'Squares?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForSelector('.turn.assistant[data-state="done"]');

  const check = async () => {
    const thinking = page.locator('.turn.assistant .thinking-text');
    assert.equal(await thinking.locator('strong').textContent(), 'bold');
    assert.equal(await thinking.locator('math').count(), 1);
    assert.equal(await thinking.locator('[onerror]').count(), 0);
    // The image (kept, harmless) has failed to load: an onerror would have run by now.
    await page.waitForFunction(() => [...document.querySelectorAll('.thinking-text img')].every((i) => i.complete));
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.deepEqual(await thinking.locator('> *').evaluateAll((parts) => parts.map((p) => p.className)),
      ['thinking-segment', 'search', 'thinking-segment']);
    assert.equal(await thinking.locator('.search-query').textContent(), 'Searched “squares”');
    assert.equal(await thinking.locator('.thinking-segment').last().locator('em').textContent(), 'more');
    assert.equal(await thinking.locator('pre').textContent(), 'first\n\nsecond\n',
      'a blank line does not cut a code block');
  };
  await check();
  await page.reload();
  await page.waitForSelector('.turn.assistant');
  await check();
  await page.close();
});

test('conversations are kept in the browser; copy, regenerate and edit the last answer', { timeout: 60000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await context.newPage();
  let asked = 0;
  const answers = ['First **one**.', 'Second.', 'Second again.', 'Other.'];
  await page.route('**/v1/chat/completions', (route) => {
    const body = JSON.parse(route.request().postData());
    const answer = answers[asked++];
    const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: 'chatcmpl-y', choices: [{ index: 0, delta,
      finish_reason: finish, sent: body.messages.length }] })}\n\n`;
    route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream', 'X-Request-Id': 'chatcmpl-y' },
      body: chunk({ reasoning_content: 'hmm' }) + chunk({ content: answer }, 'stop') + 'data: [DONE]\n\n' });
  });
  const requests = [];
  const sessions = [];
  page.on('request', (r) => {
    if (!r.url().endsWith('/v1/chat/completions')) return;
    requests.push(JSON.parse(r.postData()));
    sessions.push(r.headers()['x-session-id']);
  });
  await page.goto(server.url);
  const done = '.turn.assistant[data-state="done"]';
  const ask = async (text) => {
    const before = await page.locator(done).count();
    await page.fill('#prompt', text);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForFunction(([selector, n]) => document.querySelectorAll(selector).length === n, [done, before + 1]);
  };
  await ask('Q1');
  await ask('Q2');
  assert.deepEqual(requests[1].messages.map((m) => m.content), ['Q1', 'First **one**.', 'Q2'], 'the raw answer goes back');

  // Copy the first answer as the model wrote it.
  await page.locator('.turn.assistant').first().getByRole('button', { name: 'Copy' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'First **one**.');
  assert.equal(await page.locator('.turn.assistant').first().getByRole('button', { name: 'Regenerate' }).count(), 0);

  // Regenerate the last: asked again with the same history, replaced in place.
  await page.locator('.turn.assistant').last().getByRole('button', { name: 'Regenerate' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('.turn.assistant .answer-text')].at(-1)?.textContent.trim() ===
    'Second again.');
  assert.equal(await page.locator('.turn.assistant').count(), 2);
  assert.deepEqual(requests[2].messages.map((m) => m.content), ['Q1', 'First **one**.', 'Q2']);

  // Kept across a reload; a new chat starts empty; the list switches back.
  await page.reload();
  await page.waitForSelector('.turn.assistant');
  assert.deepEqual(await page.locator('.turn.user').allTextContents(), ['Q1', 'Q2']);
  assert.equal(await page.locator('.turn.assistant .answer-text strong').textContent(), 'one');
  await page.getByRole('button', { name: 'New chat' }).click();
  assert.equal(await page.locator('.turn').count(), 0);
  await ask('Q3');
  assert.deepEqual(requests[3].messages.map((m) => m.content), ['Q3'], 'a new chat has no history');
  // Each request names its conversation, for a load balancer's affinity (deploy/nginx).
  assert.ok(sessions[0] && sessions.slice(0, 3).every((s) => s === sessions[0]), JSON.stringify(sessions));
  assert.ok(sessions[3] && sessions[3] !== sessions[0]);
  assert.deepEqual(await page.locator('#conversation option').allTextContents(), ['Q3', 'Q1']);
  await page.selectOption('#conversation', { label: 'Q1' });
  assert.deepEqual(await page.locator('.turn.user').allTextContents(), ['Q1', 'Q2']);

  // Edit the last question: it goes back to the prompt and its turn is gone.
  await page.locator('.turn.assistant').last().getByRole('button', { name: 'Edit' }).click();
  assert.equal(await page.inputValue('#prompt'), 'Q2');
  assert.deepEqual(await page.locator('.turn.user').allTextContents(), ['Q1']);
  await context.close();
});
