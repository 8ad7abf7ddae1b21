// The chat UI: a streaming conversation with the model's thinking shown apart
// from its answers, a thinking budget, live control (Answer now, Think
// longer) and an n-sample mode with a vote; conversations kept in the
// browser, with Copy, Regenerate and Edit on answers. Keyboard: Enter sends,
// Alt+A answers now, Alt+T thinks longer, Escape stops.
import { control, fetchModel, streamChat } from './api.js';
import { Conversations } from './conversations.js';
import { showStoredTurn, TurnView } from './view.js';

const $ = (id) => document.getElementById(id);
const log = $('log');
const prompt = $('prompt');
const budget = $('budget');
const apiKey = $('api-key');
const buttons = { send: $('send'), answerNow: $('answer-now'), thinkMore: $('think-more'), stop: $('stop') };
const conversations = new Conversations();
let current = null;  // { id, token, abort }
let last = null;     // the last turn's { user, view, bar } (Regenerate and Edit act on it)
let modelId = '';

apiKey.value = localStorage.getItem('s1-api-key') ?? '';
apiKey.addEventListener('change', () => {
  localStorage.setItem('s1-api-key', apiKey.value);
  connect();
});

function budgetLabel() {
  const v = Number(budget.value);
  $('budget-value').textContent = v >= Number(budget.max) ? 'no limit' : `${v} tokens`;
}
budget.addEventListener('input', budgetLabel);
budgetLabel();

async function connect() {
  try {
    const model = await fetchModel(apiKey.value);
    modelId = model.id;
    $('model').textContent = `${model.id} · ${model.context_length} tokens context · thinking: ${model.thinking_format}`;
    // A budget past the context cannot be spent: the slider stops at it (its top still means no limit).
    const cap = Math.floor(model.context_length / Number(budget.step)) * Number(budget.step);
    if (cap > 0 && cap < Number(budget.max)) {
      budget.max = String(cap);
      if (Number(budget.value) > cap) budget.value = String(cap);
      budgetLabel();
    }
  } catch (e) {
    $('model').textContent = `not connected: ${e.message}`;
  }
}

function setBusy(busy) {
  buttons.send.disabled = busy;
  buttons.answerNow.disabled = !busy;
  buttons.thinkMore.disabled = !busy;
  buttons.stop.disabled = !busy;
}

function requestBody(question) {
  const thinking = {};
  const max = Number(budget.value);
  if (max < Number(budget.max)) thinking.max_tokens = max;
  const min = Number($('min-thinking').value) || 0;
  if (min > 0) {
    thinking.min_tokens = thinking.max_tokens === undefined ? min : Math.min(min, thinking.max_tokens);
  }
  thinking.answer_max_tokens = 1024;
  if ($('think-stop').value !== 'natural') thinking.stop = $('think-stop').value;
  const n = Number($('samples').value);
  const body = { model: modelId || undefined, messages: [...conversations.messages(), { role: 'user', content: question }],
    thinking };
  if (n > 1) Object.assign(body, { n, aggregate: $('aggregate').value });
  return body;
}

// Copy on every answer; Regenerate and Edit only on the last one.
function addActions(user, view, question) {
  if (last) last.bar.querySelectorAll('.last-only').forEach((b) => b.remove());
  const answer = () => view.samples[0].answerText;
  const bar = view.addActions({
    Copy: () => navigator.clipboard?.writeText(answer()),
    Regenerate: () => redo(question, true),
    Edit: () => redo(question, false),
  });
  bar.querySelectorAll('button').forEach((b) => { if (b.textContent !== 'Copy') b.classList.add('last-only'); });
  last = { user, view, bar };
}

// Drops the last turn; asks again (Regenerate) or puts the question back to edit.
function redo(question, resend) {
  if (current || !last) return;
  conversations.dropLastTurn();
  last.user.remove();
  last.view.root.remove();
  last = null;
  if (resend) send(question);
  else {
    prompt.value = question;
    prompt.focus();
  }
}

function showConversation() {
  log.replaceChildren();
  last = null;
  for (const turn of conversations.current().turns) {
    const { user, view } = showStoredTurn(log, turn);
    addActions(user, view, turn.question);
  }
  showConversationList();
}

// The list of conversations (a title changes when its first turn is done).
function showConversationList() {
  const select = $('conversation');
  select.replaceChildren(...conversations.list().map((c) => {
    const option = document.createElement('option');
    option.value = c.id;
    option.textContent = c.title;
    return option;
  }));
  select.value = conversations.current().id;
}

async function send(text) {
  const question = text ?? prompt.value.trim();
  if (!question || current) return;
  if (text === undefined) prompt.value = '';
  const userTurn = document.createElement('div');
  userTurn.className = 'turn user';
  userTurn.textContent = question;
  log.append(userTurn);

  const body = requestBody(question);
  const n = body.n ?? 1;
  const view = new TurnView(log, n);
  const abort = new AbortController();
  current = { id: null, token: null, abort, session: conversations.current().id };
  setBusy(true);
  const started = performance.now();
  let firstToken = null;
  let usage = null;
  let voted = null;
  try {
    await streamChat(body, apiKey.value, current.session, abort.signal, (token) => { current.token = token; }, (chunk) => {
      current.id ??= chunk.id;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices ?? []) {
        if (choice.vote) {
          view.showVote(choice.vote);
          voted = choice.delta?.content ?? '';
          continue;
        }
        const sample = view.samples[n > 1 ? choice.index - 1 : choice.index];
        const delta = choice.delta ?? {};
        if (!sample) continue;
        if (delta.reasoning_content || delta.content) firstToken ??= performance.now();
        if (delta.reasoning_content) sample.addReasoning(delta.reasoning_content);
        if (delta.content) sample.addAnswer(delta.content);
        if (delta.search) sample.addSearch(delta.search);
        if (delta.probe) sample.addProbe(delta.probe);
        if (delta.annotations) sample.showSources(delta.annotations);
        for (const call of delta.tool_calls ?? []) sample.addToolCall(call);
      }
    });
  } catch (e) {
    if (e.name !== 'AbortError') view.showError(e.message);
  }
  const seconds = (performance.now() - (firstToken ?? started)) / 1000;
  view.finish(usage, seconds);
  const first = view.samples[0];
  conversations.addTurn(question, voted ?? first.answerText, first.reasoning, first.tokens);
  addActions(userTurn, view, question);
  showConversationList();
  current = null;
  setBusy(false);
  prompt.focus();
}

async function live(command) {
  if (!current?.id) return;
  try {
    await control(current.id, current.token, command, apiKey.value, current.session);
  } catch (e) {
    // The request may have just finished; nothing to do.
  }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    send();
  }
});
buttons.answerNow.addEventListener('click', () => live({ action: 'answer_now' }));
buttons.thinkMore.addEventListener('click', () => live({ action: 'think_more', tokens: 512 }));
buttons.stop.addEventListener('click', () => current?.abort.abort());
document.addEventListener('keydown', (e) => {
  if (e.altKey && (e.key === 'a' || e.key === 'A')) live({ action: 'answer_now' });
  else if (e.altKey && (e.key === 't' || e.key === 'T')) live({ action: 'think_more', tokens: 512 });
  else if (e.key === 'Escape') current?.abort.abort();
});

$('new-chat').addEventListener('click', () => {
  if (current) return;
  conversations.startNew();
  showConversation();
  prompt.focus();
});
$('conversation').addEventListener('change', (e) => {
  if (current) return;
  conversations.select(e.target.value);
  showConversation();
});

showConversation();
connect();
prompt.focus();
