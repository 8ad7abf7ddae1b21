// The load and the checks of scripts/cluster-test, which starts the replicas
// and nginx and cleans up: OpenAI's npm client against three s1 serve replicas
// behind nginx (deploy/nginx). Prints what it measured; exits 1 naming every
// failed check. Usage:
//   node cluster-load.mjs --lb http://127.0.0.1:PORT --replica PORT:PID (x3) [--user-key]
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const LOAD = { requests: 64, concurrency: 12, killAfter: 16 };
const DRAIN = { requests: 24, concurrency: 8, signalAfter: 12 };
const THINKING_TOKENS = 400;  // per stream: long enough to be cut mid-way
const SESSIONS = 12;
const REQUEST_BOUND_MS = 30000;  // a request still going after this hangs
const RUN_BOUND_MS = 100000;

const args = { replicas: new Map(), userKey: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--lb') args.lb = process.argv[++i];
  else if (a === '--replica') {
    const [port, pid] = process.argv[++i].split(':');
    args.replicas.set(`127.0.0.1:${port}`, Number(pid));
  } else if (a === '--user-key') args.userKey = true;
  else throw new Error(`cluster-load: unknown argument ${a}`);
}
if (!args.lb || args.replicas.size !== 3) throw new Error('cluster-load: needs --lb URL and 3 --replica PORT:PID');

setTimeout(() => {
  console.error(`cluster-test: FAIL: the run did not end within ${RUN_BOUND_MS / 1000} s (a request hangs)`);
  process.exit(1);
}, RUN_BOUND_MS).unref();

// No client retries: every retry seen is nginx's.
const client = new OpenAI({ baseURL: `${args.lb}/v1`, apiKey: 'unused', maxRetries: 0, timeout: REQUEST_BOUND_MS });
const t0 = performance.now();
const now = () => performance.now() - t0;
const seconds = (ms) => (ms / 1000).toFixed(2);
const last = (list) => list?.[list.length - 1];
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
  return ok;
};
// nginx's $upstream_addr: every replica tried, in order ("A, B" after a retry).
const upstreams = (response) => (response.headers.get('x-upstream') ?? '').split(', ').filter(Boolean);
const answeredBy = (r) => last(r.upstream);
const succeeded = (r) => Boolean(!r.error && r.finish && r.usage);
const outcome = (r) => `request ${r.i} (answered by ${r.upstream?.join(', ') || 'no replica'}): `
  + (r.error ?? `finish_reason ${r.finish}, usage ${Boolean(r.usage)}`);

// One session: `turns` requests of one growing conversation, keyed by the
// X-Session-Id header or by the body's `user`.
async function session(key, turns, by) {
  const messages = [];
  const seen = [];
  for (let t = 0; t < turns; t++) {
    messages.push({ role: 'user', content: `Conversation ${key}, question ${t + 1}: what is ${t + 2}+${t + 5}?` });
    const body = { messages, max_tokens: 64, temperature: 0, thinking: { max_tokens: 24, answer_max_tokens: 24 } };
    if (by === 'user') body.user = key;
    const options = by === 'header' ? { headers: { 'X-Session-Id': key } } : {};
    const { data, response } = await client.chat.completions.create(body, options).withResponse();
    seen.push({ upstream: upstreams(response), prompt: data.usage?.prompt_tokens,
      cached: data.usage?.prompt_tokens_details?.cached_tokens });
    messages.push({ role: 'assistant', content: data.choices[0].message.content ?? '' });
  }
  return seen;
}
const sessions = (count, turns, by) =>
  Promise.all(Array.from({ length: count }, (_, s) => session(`${by}-${s}`, turns, by)));

// One streamed chat that thinks THINKING_TOKENS tokens, recorded as it goes;
// `onChunk` sees the record after each chunk.
async function stream(i, onChunk) {
  const r = { i, startedAt: now(), upstream: null, headersAt: null, chunks: 0, finish: null, usage: null, error: null };
  try {
    const { data, response } = await client.chat.completions.create({
      messages: [{ role: 'user', content: `Request ${i}: what is ${i}+${i + 1}?` }],
      stream: true, stream_options: { include_usage: true }, max_tokens: THINKING_TOKENS + 16,
      thinking: { min_tokens: THINKING_TOKENS, max_tokens: THINKING_TOKENS, answer_max_tokens: 8 },
    }).withResponse();
    r.headersAt = now();
    r.upstream = upstreams(response);
    for await (const chunk of data) {
      r.chunks++;
      if (chunk.usage) r.usage = chunk.usage;
      for (const c of chunk.choices) if (c.finish_reason) r.finish = c.finish_reason;
      onChunk(r);
    }
  } catch (e) {
    r.error = `${e.constructor.name}: ${e.message}${e.cause ? ` (${e.cause.message ?? e.cause})` : ''}`;
  }
  r.endedAt = now();
  return r;
}

// `requests` streams, `concurrency` at a time. Once `after` have started,
// `signal` goes (once) to the replica of the first stream seen mid-way.
async function load({ requests, concurrency, after, signal }) {
  const records = [];
  let started = 0;
  let sent = null;
  const midway = (r) => {
    if (sent || started < after || r.chunks < 2 || r.finish) return;
    process.kill(args.replicas.get(answeredBy(r)), signal);
    sent = { at: now(), replica: answeredBy(r), trigger: r.i };
  };
  const worker = async () => {
    while (started < requests) {
      const i = started++;
      records[i] = await stream(i, midway);
    }
  };
  const begin = now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  for (const r of records) {
    check(r.endedAt - r.startedAt < REQUEST_BOUND_MS,
      `${signal}: request ${r.i} took ${seconds(r.endedAt - r.startedAt)} s (bound ${REQUEST_BOUND_MS / 1000} s)`);
  }
  check(sent, `${signal}: no stream was mid-way after ${after} requests had started, so no replica got ${signal}`);
  return { records, sent: sent ?? { at: Infinity }, begin, seconds: seconds(now() - begin) };
}

function summary(records) {
  const times = records.map((r) => r.endedAt - r.startedAt).sort((a, b) => a - b);
  const by = {};
  for (const r of records) if (r.upstream?.length) by[answeredBy(r)] = (by[answeredBy(r)] ?? 0) + 1;
  return `p50 ${seconds(times[Math.floor(times.length / 2)])} s, max ${seconds(last(times))} s; `
    + `answered by ${Object.entries(by).map(([replica, n]) => `${replica} ${n}`).join(', ')}`;
}

// A process that has exited is gone or, until its parent reaps it, a zombie.
function exited(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return true;
  }
}

// 1. Affinity: every request of a session goes to one replica.
const begin1 = now();
const byHeader = await sessions(SESSIONS, 3, 'header');
const byUser = args.userKey ? await sessions(SESSIONS / 2, 2, 'user') : [];
const home = byHeader.map((turns) => turns[0].upstream[0]);
for (const [kind, list] of [['X-Session-Id', byHeader], ['user', byUser]]) {
  list.forEach((turns, s) => {
    const answers = new Set(turns.map((t) => t.upstream.join(', ')));
    check(answers.size === 1 && turns[0].upstream.length === 1,
      `affinity: ${kind} session ${s} was answered by ${[...answers].join(' / ')} (expected one replica)`);
  });
}
const homes = new Set(home);
check(homes.size >= 2, `affinity: all ${SESSIONS} sessions hashed to one replica (${[...homes]})`);
console.log(`phase 1, affinity: ${SESSIONS} X-Session-Id sessions x 3 turns, `
  + (args.userKey ? `${SESSIONS / 2} "user" sessions x 2 turns` : '"user" key not tested (nginx without njs)')
  + `; ${homes.size} replicas used, each session on one; ${seconds(now() - begin1)} s`);
// Reported, not required: a replica's prompt cache fills it where there is one.
const laterTurns = [...byHeader, ...byUser].flatMap((turns) => turns.slice(1));
console.log(laterTurns.some((t) => t.cached !== undefined)
  ? `  later turns, cached_tokens/prompt_tokens: ${laterTurns.map((t) => `${t.cached ?? '-'}/${t.prompt}`).join(' ')}`
  : '  usage.prompt_tokens_details.cached_tokens: not reported by these replicas');

// 2. Load, one replica SIGKILLed while it streams.
const killed = await load({ ...LOAD, after: LOAD.killAfter, signal: 'SIGKILL' });
const kill = killed.sent;
const onVictim = killed.records.filter((r) => answeredBy(r) === kill.replica);
const elsewhere = killed.records.filter((r) => answeredBy(r) !== kill.replica);
const doneBefore = onVictim.filter((r) => r.endedAt <= kill.at && succeeded(r));
const inFlight = onVictim.filter((r) => !doneBefore.includes(r));
const cut = inFlight.filter((r) => r.error);
// A stream of the killed replica either completed (its end was in the socket
// buffers) or ends with an error: never cleanly without its final chunk.
for (const r of inFlight) {
  check(r.error || succeeded(r), `SIGKILL: request ${r.i}, streaming from the killed replica, ended without an`
    + ` error and without its final chunk (${r.chunks} chunks): the client cannot tell it was cut`);
}
// Even the stream that triggered the kill may complete, if the client lagged
// its whole stream behind the replica; the replica's queued streams cannot.
check(cut.length >= 1, `SIGKILL: no stream of the killed replica ended with an error (${inFlight.length} in`
  + ' flight, all complete in transit): nothing was cut');
for (const r of elsewhere) check(succeeded(r), `SIGKILL: ${outcome(r)}`);
// Not started: no response headers at the client when the kill happened. The
// ones the killed replica answered had its headers in transit (it accepted them).
const notStarted = killed.records.filter((r) => !(r.headersAt <= kill.at));
const acceptedLast = notStarted.filter((r) => answeredBy(r) === kill.replica);
const retried = killed.records.filter((r) => r.upstream?.length > 1);
check(retried.length >= 1, 'SIGKILL: no request was retried on another replica');
for (const r of retried) {
  check(r.upstream[0] === kill.replica && answeredBy(r) !== kill.replica,
    `SIGKILL: request ${r.i} was retried from ${r.upstream.join(' to ')}, not from the killed replica`);
}
console.log(`phase 2, SIGKILL: ${LOAD.requests} streams (${LOAD.concurrency} at a time, ${THINKING_TOKENS} thinking`
  + ` tokens each) in ${killed.seconds} s, ${summary(killed.records)}`);
console.log(`  SIGKILL ${kill.replica} at ${seconds(kill.at - killed.begin)} s, request ${kill.trigger} streaming`
  + ` from it; its streams: ${doneBefore.length} done before, ${cut.length} cut (at the client: `
  + `${[...new Set(cut.map((r) => r.error))].join(' | ') || '-'}), ${inFlight.length - cut.length} completed in transit`);
console.log(`  not started at the kill: ${notStarted.length}, succeeded ${notStarted.filter(succeeded).length}`
  + (acceptedLast.length ? ` (${acceptedLast.length} accepted by the killed replica as it died)` : '')
  + `; retried by nginx: ${retried.length}; answered by the other replicas: ${elsewhere.length},`
  + ` succeeded ${elsewhere.filter(succeeded).length}`);

// 3. After the kill: sessions of the living replicas stay (consistent
// hashing); the killed one's move, each to one replica.
const later = await sessions(SESSIONS, 2, 'header');
let moved = 0;
later.forEach((turns, s) => {
  const answers = new Set(turns.map((t) => answeredBy(t)));
  check(answers.size === 1, `after SIGKILL: session ${s} was answered by ${[...answers].join(' and ')}`);
  if (home[s] === kill.replica) {
    moved++;
    check(!answers.has(kill.replica), `after SIGKILL: session ${s} answered by the killed replica`);
  } else {
    check(answers.has(home[s]), `after SIGKILL: session ${s} moved from ${home[s]} to ${[...answers]} (it lives)`);
  }
});
console.log(`phase 3, after the kill: ${SESSIONS - moved} sessions stayed on their replica,`
  + ` ${moved} moved from the killed one`);

// 4. A rolling update's drain: SIGTERM to a replica while it streams loses nothing.
const drained = await load({ ...DRAIN, after: DRAIN.signalAfter, signal: 'SIGTERM' });
for (const r of drained.records) check(succeeded(r), `SIGTERM: ${outcome(r)}`);
const pid = args.replicas.get(drained.sent.replica);
if (pid) {
  const by = Date.now() + 10000;
  while (!exited(pid) && Date.now() < by) await new Promise((resolve) => setTimeout(resolve, 50));
  check(exited(pid), `SIGTERM: ${drained.sent.replica} had not exited 10 s after its streams ended`);
}
const finishedAfter = drained.records.filter((r) => answeredBy(r) === drained.sent.replica && r.endedAt > drained.sent.at);
console.log(`phase 4, SIGTERM: ${DRAIN.requests} streams in ${drained.seconds} s, ${summary(drained.records)}`);
console.log(`  SIGTERM ${drained.sent.replica} at ${seconds(drained.sent.at - drained.begin)} s, request`
  + ` ${drained.sent.trigger} streaming from it; ${finishedAfter.length} of its streams finished after the signal;`
  + ` succeeded ${drained.records.filter(succeeded).length}/${DRAIN.requests};`
  + ` retried by nginx: ${drained.records.filter((r) => r.upstream?.length > 1).length}`);

const requests = [...byHeader, ...byUser, ...later].flat().length + LOAD.requests + DRAIN.requests;
console.log(`total: ${requests} requests through nginx in ${seconds(now())} s`);
if (failures.length) {
  console.error(`cluster-test: FAIL (${failures.length}):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('cluster-test: ok');
