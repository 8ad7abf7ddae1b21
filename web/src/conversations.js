// Conversations kept in the browser (localStorage, nothing on the server):
// each has a title (its first question) and its turns; one is current.
const KEY = 's1-conversations';

function load(storage) {
  try {
    const saved = JSON.parse(storage.getItem(KEY) ?? 'null');
    if (saved && Array.isArray(saved.list) && saved.list.length) return saved;
  } catch {
    // A damaged entry starts afresh.
  }
  return { list: [], current: null };
}

export class Conversations {
  constructor(storage = localStorage) {
    this.storage = storage;
    this.state = load(storage);
    if (!this.current()) this.startNew();
  }

  save() { this.storage.setItem(KEY, JSON.stringify(this.state)); }
  list() { return this.state.list; }
  current() { return this.state.list.find((c) => c.id === this.state.current); }

  startNew() {
    // An empty current conversation is reused rather than piling up.
    const open = this.current();
    if (open && open.turns.length === 0) return open;
    const conversation = { id: `c${Date.now()}${Math.random().toString(36).slice(2, 6)}`, title: 'New chat', turns: [] };
    this.state.list.unshift(conversation);
    this.state.current = conversation.id;
    this.save();
    return conversation;
  }

  select(id) {
    if (this.state.list.some((c) => c.id === id)) this.state.current = id;
    this.save();
    return this.current();
  }

  // A finished turn: the question, the answer as written, the thinking (its text
  // as written between the searches made, and the searches) and its length in tokens.
  addTurn(question, answer, reasoning, thinkingTokens) {
    const conversation = this.current();
    if (conversation.turns.length === 0) conversation.title = question.slice(0, 60);
    conversation.turns.push({ question, answer, reasoning, thinkingTokens });
    this.save();
  }

  dropLastTurn() {
    const turn = this.current().turns.pop();
    this.save();
    return turn;
  }

  // The chat messages the next request continues.
  messages() {
    return this.current().turns.flatMap((t) => [{ role: 'user', content: t.question },
      { role: 'assistant', content: t.answer }]);
  }
}
