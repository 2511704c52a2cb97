/**
 * The web page served at `GET /`: a chat with live typewriter text, the model's thinking, tool
 * calls, sources, progress and a stop button. It reads the stream with sluice's own browser
 * client (`fetchEventStream`, served from `/assets/sluice/`), so it is also a working example.
 *
 * @module
 */

/** The page's HTML. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice — streaming agent</title>
<style>
  :root { color-scheme: light dark; --fg: #1d232a; --muted: #6b7480; --line: #d9dee4; --bg: #fff; --card: #f5f7f9; --accent: #2563eb; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e9ec; --muted: #98a2ad; --line: #2d343c; --bg: #111418; --card: #181c21; --accent: #60a5fa; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.55 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  main { max-width: 820px; margin: 0 auto; padding: 16px; display: flex; flex-direction: column; min-height: 100vh; }
  header { display: flex; gap: 12px; align-items: center; justify-content: space-between; border-bottom: 1px solid var(--line); padding-bottom: 8px; }
  header h1 { font-size: 18px; margin: 0; }
  header small { color: var(--muted); }
  #log { flex: 1; padding: 12px 0; }
  .msg { margin: 12px 0; padding: 10px 12px; border-radius: 10px; background: var(--card); white-space: pre-wrap; overflow-wrap: anywhere; }
  .msg.user { background: transparent; border: 1px solid var(--line); }
  .role { font-size: 12px; color: var(--muted); margin-bottom: 4px; }
  .thinking { color: var(--muted); font-style: italic; border-left: 3px solid var(--line); padding-left: 8px; margin-bottom: 8px; }
  .tool, .source, .progress, .meta, .error { font: 13px/1.5 ui-monospace, monospace; margin: 6px 0; }
  .tool { color: var(--accent); } .source a { color: var(--accent); } .error { color: #dc2626; } .meta { color: var(--muted); }
  progress { width: 160px; vertical-align: middle; }
  form { display: flex; gap: 8px; border-top: 1px solid var(--line); padding-top: 12px; position: sticky; bottom: 0; background: var(--bg); }
  textarea { flex: 1; resize: vertical; min-height: 44px; font: inherit; padding: 8px; border-radius: 8px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); }
  button, select { font: inherit; padding: 8px 14px; border-radius: 8px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
  button[type=submit] { background: var(--accent); color: #fff; border-color: var(--accent); }
  button:disabled { opacity: .5; cursor: default; }
  pre { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 8px; overflow-x: auto; white-space: pre; }
  code { font: 13px/1.45 ui-monospace, monospace; }
  .cursor::after { content: '▍'; animation: blink 1s steps(1) infinite; color: var(--accent); }
  @keyframes blink { 50% { opacity: 0; } }
</style>
</head>
<body>
<main>
  <header>
    <div><h1>sluice</h1><small>streaming responses for AI agents — text, thinking and tool calls as they happen</small></div>
    <select id="model" aria-label="model"></select>
  </header>
  <div id="log" aria-live="polite"></div>
  <form id="form">
    <textarea id="input" placeholder="Ask about streaming: What is backpressure? 什么是流式响应？" required></textarea>
    <button type="submit" id="send">Send</button>
    <button type="button" id="stop" disabled>Stop</button>
  </form>
</main>
<script type="module">
import { fetchEventStream } from '/assets/sluice/sse/index.js';

const log = document.getElementById('log');
const form = document.getElementById('form');
const input = document.getElementById('input');
const send = document.getElementById('send');
const stop = document.getElementById('stop');
const modelSelect = document.getElementById('model');
const history = [];
let controller;

fetch('/v1/models').then((r) => r.json()).then(({ data }) => {
  for (const { id } of data) modelSelect.append(new Option(id, id));
});

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A small markdown subset (code fences, **bold**, inline code), built as DOM nodes (no innerHTML),
// applied once a text part is complete: re-rendering on every delta would cost quadratic time.
function renderMarkdown(target, source) {
  target.replaceChildren();
  source.split(/\`\`\`[a-z]*\\n?/).forEach((segment, index) => {
    if (index % 2 === 1) { const pre = el('pre'); pre.append(el('code', '', segment.replace(/\\n$/, ''))); target.append(pre); return; }
    for (const piece of segment.split(/(\\*\\*[^*\\n]+\\*\\*|\`[^\`\\n]+\`)/)) {
      if (piece.startsWith('**') && piece.endsWith('**') && piece.length > 4) target.append(el('strong', '', piece.slice(2, -2)));
      else if (piece.startsWith('\`') && piece.endsWith('\`') && piece.length > 2) target.append(el('code', '', piece.slice(1, -1)));
      else if (piece) target.append(piece);
    }
  });
}

function bubble(role) {
  const box = el('div', 'msg ' + role);
  box.append(el('div', 'role', role === 'user' ? 'you' : 'assistant'));
  log.append(box);
  return box;
}

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
});
stop.addEventListener('click', () => controller?.abort());

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = '';
  bubble('user').append(document.createTextNode(question));
  history.push({ role: 'user', content: question });
  const box = bubble('assistant');
  const body = el('div', 'cursor');
  box.append(body);
  let thinking, text, answer = '';
  const progressBars = new Map();
  controller = new AbortController();
  send.disabled = true; stop.disabled = false;
  const started = performance.now();
  let firstToken;
  try {
    const stream = fetchEventStream('/v1/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: history, model: modelSelect.value || undefined }),
      signal: controller.signal,
    });
    for await (const { data } of stream) {
      const ev = JSON.parse(data);
      switch (ev.type) {
        case 'reasoning-start': thinking = el('div', 'thinking'); body.before(thinking); break;
        case 'reasoning-delta': thinking?.append(ev.delta); break;
        case 'text-start': text = el('span'); body.append(text); break;
        case 'text-end': if (text) renderMarkdown(text, text.textContent); break;
        case 'text-delta':
          firstToken ??= performance.now();
          (text ?? body).append(ev.delta); answer += ev.delta; break;
        case 'tool-call': body.append(el('div', 'tool', '⚙ ' + ev.toolName + ' ' + JSON.stringify(ev.input))); break;
        case 'tool-result': body.append(el('div', 'tool', '↳ ' + JSON.stringify(ev.output))); break;
        case 'tool-error': body.append(el('div', 'error', '⚠ ' + ev.toolName + ': ' + ev.message)); break;
        case 'source': {
          const line = el('div', 'source', '📄 ');
          if (ev.url) { const a = el('a', '', ev.title ?? ev.url); a.href = ev.url; a.target = '_blank'; line.append(a); } else line.append(ev.title ?? ev.id);
          body.append(line); break;
        }
        case 'progress': {
          let bar = progressBars.get(ev.id ?? '');
          if (!bar) { const line = el('div', 'progress'); bar = el('progress'); line.append(bar, el('span')); body.append(line); progressBars.set(ev.id ?? '', bar); }
          if (ev.total) { bar.max = ev.total; bar.value = ev.done; } bar.nextSibling.textContent = ' ' + ev.done + (ev.total ? '/' + ev.total : '') + ' ' + (ev.message ?? '');
          break;
        }
        case 'usage': box.dataset.tokens = String(ev.outputTokens ?? ''); break;
        case 'finish': {
          const ttft = firstToken ? Math.round(firstToken - started) + ' ms to first token, ' : '';
          box.append(el('div', 'meta', ttft + (box.dataset.tokens ? box.dataset.tokens + ' tokens, ' : '') + 'finish: ' + ev.finishReason));
          break;
        }
        case 'error': box.append(el('div', 'error', 'error: ' + ev.message + ' (' + ev.code + ')')); break;
        case 'abort': box.append(el('div', 'meta', 'stopped')); break;
      }
    }
  } catch (error) {
    box.append(el('div', controller.signal.aborted ? 'meta' : 'error', controller.signal.aborted ? 'stopped' : String(error.message ?? error)));
  } finally {
    body.classList.remove('cursor');
    if (answer) history.push({ role: 'assistant', content: answer });
    send.disabled = false; stop.disabled = true;
    input.focus();
  }
});
</script>
</body>
</html>
`;
