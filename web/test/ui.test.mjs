// The chat UI in headless Chromium (Debian's, driven by playwright-core):
// ask from the keyboard, watch the thinking stream, press "Answer now", see
// the answer; a screenshot is saved ($S1_SCREENSHOT, default in the temp dir). Then
// the n-sample mode: every sample shown, and the vote.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
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
  assert.ok((await turn.locator('.thinking-text').textContent()).length > 0);

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
  assert.equal(await turn.locator('.thinking-text').textContent(),
    'Let me look.Searched “paris weather”Paris — /docs/paris.md Found it.');
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
  const path = (process.env.S1_SCREENSHOT ?? join(tmpdir(), 's1-web-ui.png')).replace(/\.png$/, '-390.png');
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 0);
});
