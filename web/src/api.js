// The server's API as the UI uses it: streamed chat completions and live control.
import { readEvents } from './sse.js';

// sessionId names the conversation: a load balancer in front of several
// servers (deploy/nginx) sends its turns, and their live control, to the one
// that has its prompt cached and its request running.
function headers(apiKey, sessionId) {
  const h = { 'Content-Type': 'application/json' };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  if (sessionId) h['X-Session-Id'] = sessionId;
  return h;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.error?.message ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

export async function fetchModel(apiKey) {
  const response = await fetch('/v1/models', { headers: headers(apiKey) });
  if (!response.ok) throw new Error(await errorMessage(response));
  return (await response.json()).data[0];
}

// Streams a chat completion; onStart gets the request's control token (live
// control needs it), onChunk every chunk. Resolves when done.
export async function streamChat(body, apiKey, sessionId, signal, onStart, onChunk) {
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(apiKey, sessionId),
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  onStart(response.headers.get('X-Control-Token'));
  await readEvents(response, (chunk) => {
    if (chunk.error) throw new Error(chunk.error.message);
    onChunk(chunk);
  });
}

export async function control(id, token, command, apiKey, sessionId) {
  const response = await fetch(`/v1/requests/${encodeURIComponent(id)}/control`, {
    method: 'POST',
    headers: { ...headers(apiKey, sessionId), 'X-Control-Token': token },
    body: JSON.stringify(command),
  });
  if (!response.ok) throw new Error(await errorMessage(response));
}
