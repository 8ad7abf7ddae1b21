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

const servers = {};
before(async () => {
  servers.mini = await startServer([], { model: join(root, 'models', 'mini.gguf') });
  servers.qwen3 = await startServer([], {
    mkmodel: ['--arch', 'qwen3', '--layers', '2', '--embd', '64', '--heads', '4', '--kv-heads', '2', '--ff', '96',
      '--ctx', '4096', '--vocab-from', join(shared, 'tokenizer', 'ggml-vocab-qwen2.gguf'),
      '--chat-template', join(shared, 'templates', 'Qwen-Qwen3-0.6B.jinja')],
  });
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
    model, temperature: 0, max_tokens: 2000, thinking: { max_tokens: 32 },
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
