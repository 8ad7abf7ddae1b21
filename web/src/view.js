import { renderMarkdown, settledLength } from './markdown.js';

// The DOM of one assistant turn: per sample a collapsible thinking block with
// a live token counter and the answer; with samples, the vote.
function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function sourceList(annotations) {
  const list = element('ul', 'source-list');
  for (const a of annotations ?? []) {
    const c = a.url_citation ?? {};
    list.append(element('li', '', `${c.title ?? ''} — ${c.url ?? ''}`));
  }
  return list;
}

class SampleView {
  constructor(parent, label) {
    this.root = element('div', label ? 'sample' : 'single');
    if (label) this.root.append(element('div', 'muted', label));
    this.details = element('details', 'thinking');
    this.details.open = true;
    this.summary = element('summary');
    this.status = element('span', '', 'Thinking… ');
    this.count = element('span', 'thinking-count', '0');
    this.summary.append(this.status, this.count, document.createTextNode(' tokens'));
    this.thinking = element('div', 'thinking-text');
    this.follow = true;
    this.autoTop = 0;  // where following last put the box
    this.thinking.addEventListener('scroll', () => {
      const box = this.thinking;
      if (box.scrollTop < this.autoTop - 4) this.follow = false;  // the reader scrolled up
      else if (box.scrollTop + box.clientHeight >= box.scrollHeight - 4) this.follow = true;  // and back down
    });
    this.details.append(this.summary, this.thinking);
    this.details.hidden = true;
    this.answer = element('div', 'answer-text');
    this.answerText = '';  // as the model wrote it (the element shows it rendered)
    this.reasoning = [];  // likewise the thinking: its text between searches, and the searches
    this.root.append(this.details, this.answer);
    parent.append(this.root);
    this.tokens = 0;
  }

  addReasoning(text) {
    this.details.hidden = false;
    // The thinking is kept as the model wrote it, one string per stretch
    // between searches, each shown as Markdown in its own element.
    if (typeof this.reasoning.at(-1) !== 'string') {
      this.reasoning.push('');
      this.segment = element('div', 'thinking-segment');
      this.tail = element('div');  // the stretch from its last finished paragraph on
      this.segment.append(this.tail);
      this.settled = 0;  // how much of the stretch is rendered for good, before the tail
      this.thinking.append(this.segment);
    }
    this.reasoning[this.reasoning.length - 1] += text;
    this.stale = true;
    this.nextFrame();
    this.tokens += 1;
    this.count.textContent = String(this.tokens);
  }

  // Rendering the stretch and measuring the layout per token would stall a
  // fast stream: both once a frame.
  nextFrame() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.render();
      // The box follows the stream unless the reader scrolled up in it.
      if (!this.follow) return;
      const box = this.thinking;
      box.scrollTop = box.scrollHeight;
      this.autoTop = box.scrollTop;
    });
  }

  // A later token can change how earlier ones read (a closing ** or $), so
  // the tail is rendered whole each time; finished paragraphs are moved out
  // of it and rendered once, or a long stretch would take longer per frame
  // than a frame.
  render() {
    if (!this.stale) return;
    this.stale = false;
    const text = this.reasoning.at(-1);
    const settled = this.settled + settledLength(text.slice(this.settled));
    if (settled > this.settled) {
      this.tail.insertAdjacentHTML('beforebegin', renderMarkdown(text.slice(this.settled, settled)));
      this.settled = settled;
    }
    this.tail.innerHTML = renderMarkdown(text.slice(this.settled));
  }

  // A search the server ran for the model while it thought: the query and what it found.
  addSearch(search) {
    this.details.hidden = false;
    this.render();  // the stretch before it ends here
    this.reasoning.push({ query: search.query, annotations: search.annotations });
    const box = element('div', 'search');
    box.append(element('div', 'search-query', `Searched “${search.query}”`));
    box.append(sourceList(search.annotations));
    this.thinking.append(box);
    this.nextFrame();
  }

  // A probe of the thinking so far (thinking.stop): what the model would
  // answer if it stopped there. Kept in the reasoning, between its stretches.
  addProbe(probe) {
    this.details.hidden = false;
    this.render();  // the stretch before it ends here
    this.reasoning.push({ probe });
    const answer = probe.answer === '' ? '(no answer)' : probe.answer;
    this.thinking.append(element('div', 'probe', `Probe at ${probe.thinking_tokens} tokens: ${answer}`));
    this.nextFrame();
  }

  // The passages the answer drew on (message.annotations), under the answer.
  showSources(annotations) {
    if (!annotations?.length || this.sources) return;
    this.sources = element('div', 'sources');
    this.sources.append(element('div', 'muted', 'Sources'), sourceList(annotations));
    this.root.append(this.sources);
  }

  // A call of one of the client's tools (the answer, when the model calls one).
  addToolCall(call) {
    const box = element('div', 'tool-call');
    box.append(element('span', 'tool-name', call.function?.name ?? ''),
               element('code', 'tool-arguments', call.function?.arguments ?? ''));
    this.root.append(box);
  }

  addAnswer(text) {
    if (!this.answerText && this.tokens > 0) {
      this.status.textContent = 'Thought for ';
      this.details.open = false;
    }
    this.answerText += text;
    this.answer.innerHTML = renderMarkdown(this.answerText);
  }

  finish(tokens) {
    this.render();  // the last frame's worth
    this.status.textContent = 'Thought for ';
    if (tokens !== undefined) this.count.textContent = String(tokens);
  }
}

// A turn from a stored conversation, shown as it ended.
export function showStoredTurn(log, turn) {
  const user = element('div', 'turn user', turn.question);
  log.append(user);
  const view = new TurnView(log, 1);
  // The thinking as SampleView.reasoning kept it; older turns kept one string.
  for (const part of [].concat(turn.reasoning || [])) {
    if (typeof part === 'string') view.samples[0].addReasoning(part);
    else if (part.probe) view.samples[0].addProbe(part.probe);
    else view.samples[0].addSearch(part);
  }
  view.samples[0].addAnswer(turn.answer);
  view.samples[0].details.open = false;
  view.finish();
  view.samples[0].finish(turn.thinkingTokens);
  return { user, view };
}

export class TurnView {
  constructor(log, samples) {
    this.root = element('div', 'turn assistant');
    this.root.dataset.state = 'streaming';
    log.append(this.root);
    this.samples = [];
    const grid = samples > 1 ? element('div', 'samples') : this.root;
    if (samples > 1) this.root.append(grid);
    for (let i = 0; i < samples; i += 1) this.samples.push(new SampleView(grid, samples > 1 ? `Sample ${i + 1}` : ''));
    this.vote = element('div', 'vote');
    this.stats = element('div', 'stats muted');
    this.root.append(this.vote, this.stats);
    this.root.scrollIntoView({ block: 'end' });
  }

  // The winner is null when no sample's answer held an extractable final answer.
  showVote(vote) {
    const winner = vote.winner === null ? undefined : this.samples[vote.winner - 1];
    if (winner) winner.root.classList.add('winner');
    // An adaptive vote that settled early never started the rest: drop their empty boxes.
    const allowed = this.samples.length;
    for (const unused of this.samples.splice(vote.samples)) unused.root.remove();
    this.vote.textContent = `Vote (${vote.method}): ${vote.answer ?? '(no answer extracted)'} — ` +
      `${vote.votes} of ${vote.samples} samples` +
      (vote.samples < allowed ? ` (settled after ${vote.samples} of the ${allowed} allowed)` : '');
  }

  // Copy, and for the last turn Regenerate and Edit (the app decides what they do).
  addActions(actions) {
    const bar = element('div', 'turn-actions');
    for (const [label, handler] of Object.entries(actions)) {
      const button = element('button', '', label);
      button.type = 'button';
      button.addEventListener('click', handler);
      bar.append(button);
    }
    this.root.append(bar);
    return bar;
  }

  showError(message) {
    this.root.append(element('div', 'error', message));
  }

  finish(usage, seconds) {
    this.root.dataset.state = 'done';
    const single = this.samples.length === 1 ? usage?.completion_tokens_details?.reasoning_tokens : undefined;
    for (const s of this.samples) s.finish(single);
    if (!usage) return;
    const speed = seconds > 0 ? (usage.completion_tokens / seconds).toFixed(1) : '–';
    const thinking = usage.completion_tokens_details?.reasoning_tokens ?? 0;
    this.stats.textContent = `cost: ${usage.completion_tokens} tokens (${thinking} thinking, ` +
      `${usage.completion_tokens - thinking} answer) + ${usage.prompt_tokens} prompt · ${speed} tokens/s · ${seconds.toFixed(1)} s`;
  }
}
