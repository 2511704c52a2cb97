/**
 * The local demo model's knowledge base: short, accurate notes on streaming responses for AI
 * agents and on how sluice does them, in English and Chinese. The model answers only from these.
 *
 * @module
 */

/** One note of the knowledge base. */
export interface KnowledgeEntry {
  /** Stable id, cited in answers. */
  id: string;
  /** English title. */
  title: string;
  /** Search keywords, English and Chinese. */
  tags: readonly string[];
  /** English text: a lead sentence that answers the question, then the details. */
  text: string;
  /** Chinese title and text, saying the same. */
  zh: { title: string; text: string };
  /** A short example shown under the entry when it leads an answer. */
  snippet?: { lang: string; code: string };
}

/** Every entry, in the order topics are listed to a user who asks what the model knows. */
export const KNOWLEDGE_BASE: readonly KnowledgeEntry[] = [
  {
    id: 'streaming-basics',
    title: 'What streaming responses are',
    tags: ['streaming', 'stream', 'streaming response', 'StreamingResponse', 'typewriter', 'token by token', 'why', '流式响应', '流式输出', '打字机', '逐字输出', '为什么'],
    text:
      'A streaming response sends the body in pieces as they are produced instead of all at once at the end. ' +
      'For an AI agent that means the user sees the first words after a few hundred milliseconds rather than waiting ' +
      'for the whole answer, the server never holds the full response in memory, and errors show up early. ' +
      'In sluice any iterable, async generator or ReadableStream becomes a streamed HTTP body with `streamingResponse()` ' +
      '(Web) or `sendStream()` (Node), the TypeScript counterpart of FastAPI’s `StreamingResponse`.',
    zh: {
      title: '什么是流式响应',
      text:
        '流式响应是在数据生成的同时分块发送响应体，而不是等全部生成完再一次性返回。' +
        '对 AI Agent 来说，这意味着用户几百毫秒内就能看到第一个字（类似 ChatGPT 的打字机效果），' +
        '服务器不必在内存里缓存完整响应，错误也能更早暴露。' +
        '在 sluice 里，任何可迭代对象、异步生成器或 ReadableStream 都可以用 `streamingResponse()`（Web）' +
        '或 `sendStream()`（Node）变成流式 HTTP 响应体，相当于 FastAPI 的 `StreamingResponse`。',
    },
    snippet: {
      lang: 'ts',
      code:
        "import { streamingResponse, sleep } from 'sluice';\n\n" +
        'export const GET = () =>\n' +
        '  streamingResponse(async function* (signal) {\n' +
        '    for (let i = 0; i < 10; i++) {\n' +
        '      await sleep(500, signal);\n' +
        '      yield `数字: ${i}\\n`;\n' +
        '    }\n' +
        '  });',
    },
  },
  {
    id: 'sse-format',
    title: 'The SSE wire format',
    tags: ['sse', 'server-sent events', 'event', 'id', 'data', 'retry', 'text/event-stream', 'EventSource', 'wire format', '事件流', '报文格式', '服务器推送事件'],
    text:
      'Server-Sent Events is a text format over one long HTTP response with `Content-Type: text/event-stream`. ' +
      'Each event is a block of `field: value` lines ended by a blank line: `event:` names it, `id:` sets the last event ID ' +
      'a client sends back when it reconnects, `data:` carries the payload (several `data:` lines are joined with newlines), ' +
      'and `retry:` tells the client how many milliseconds to wait before reconnecting. Lines starting with `:` are comments, ' +
      'used as heartbeats. sluice sends every agent event as `event: <type>`, `id: <n>` and `data: <JSON>`, with ids 1, 2, 3, … ' +
      'and rejects CR or LF in `event` or `id` instead of writing them through.',
    zh: {
      title: 'SSE 报文格式',
      text:
        'Server-Sent Events（SSE）是在一个长 HTTP 响应上传输的文本格式，`Content-Type` 为 `text/event-stream`。' +
        '每个事件由若干 `字段: 值` 行组成，以空行结束：`event:` 是事件名，`id:` 是客户端重连时回传的最后事件 ID，' +
        '`data:` 是数据（多行 `data:` 会用换行拼接），`retry:` 告诉客户端重连前等待多少毫秒。以 `:` 开头的行是注释，常用作心跳。' +
        'sluice 把每个 Agent 事件编码为 `event: <类型>`、`id: <序号>` 和 `data: <JSON>`，序号从 1 连续递增，' +
        '并拒绝 `event` 或 `id` 中的换行符，而不是原样写出。',
    },
    snippet: {
      lang: 'text',
      code: 'event: text-delta\nid: 7\ndata: {"type":"text-delta","id":"t1","delta":"Hel"}\n\n: ping\n\nretry: 3000\n',
    },
  },
  {
    id: 'heartbeats-proxies',
    title: 'Heartbeats and proxies',
    tags: ['heartbeat', 'ping', 'keep-alive', 'proxy', 'nginx', 'X-Accel-Buffering', 'buffering', 'no-transform', 'timeout', 'idle', '心跳', '代理', '缓冲', '超时'],
    text:
      'Proxies and load balancers buffer responses and close connections that look idle, which breaks a stream that pauses while ' +
      'a model thinks. sluice sends `X-Accel-Buffering: no` (nginx) and `Cache-Control: no-cache, no-transform` so nothing ' +
      'buffers or compresses the stream, and writes a `: ping` comment after 15 s without data (the `heartbeatMs` option). ' +
      'Heartbeats are only written while the client has room, so they never pile up behind a slow reader.',
    zh: {
      title: '心跳与代理缓冲',
      text:
        '代理和负载均衡器会缓冲响应，还会关闭看起来空闲的连接，模型思考时的停顿就可能让流断掉。' +
        'sluice 发送 `X-Accel-Buffering: no`（针对 nginx）和 `Cache-Control: no-cache, no-transform`，' +
        '避免中间层缓冲或压缩流；空闲 15 秒（`heartbeatMs` 选项）就写一条 `: ping` 注释作为心跳。' +
        '心跳只在客户端有余量时才写，不会堆积在慢客户端后面。',
    },
  },
  {
    id: 'backpressure',
    title: 'Backpressure',
    tags: ['backpressure', 'back pressure', 'flow control', 'slow client', 'memory', 'pull', 'drain', 'desiredSize', '背压', '流控', '慢客户端', '内存'],
    text:
      'Backpressure means the consumer sets the pace: the producer makes the next chunk only when the socket can take it. ' +
      'Without it, a fast model and a slow client fill server memory with queued chunks. sluice pulls from your source: ' +
      'it calls the iterator’s `next()` only while `res.write()` returns true or the ReadableStream’s `desiredSize` is positive, ' +
      'and waits for `drain` (or `close`) otherwise, so memory per connection stays bounded whatever the producer’s speed. ' +
      'Async generators get this for free, because they pause at each `yield` until the next pull.',
    zh: {
      title: '背压（Backpressure）',
      text:
        '背压是指由消费端决定节奏：只有当 socket 能接收时，生产端才生成下一块数据。' +
        '没有背压时，快速的模型加上慢速的客户端会让排队的数据块占满服务器内存。' +
        'sluice 采用拉取模式：只有在 `res.write()` 返回 true 或 ReadableStream 的 `desiredSize` 大于 0 时才调用迭代器的 `next()`，' +
        '否则等待 `drain`（或 `close`）事件，因此无论生产者多快，每个连接的内存占用都有上限。' +
        '异步生成器天然支持背压，因为它在每个 `yield` 处暂停，直到下一次拉取。',
    },
    snippet: {
      lang: 'ts',
      code:
        '// The generator pauses at each yield until the socket has room: no unbounded queue.\n' +
        'sendStream(res, async function* () {\n' +
        '  for await (const row of db.query(sql)) yield JSON.stringify(row) + "\\n";\n' +
        '});',
    },
  },
  {
    id: 'cancellation',
    title: 'Cancellation and AbortSignal',
    tags: ['cancel', 'cancellation', 'abort', 'AbortSignal', 'AbortController', 'disconnect', 'stop', 'stop button', 'finally', 'return', '取消', '中止', '断开', '停止生成'],
    text:
      'When the client disconnects or presses stop, the generation should stop too, or you keep paying for tokens nobody reads. ' +
      'sluice aborts the source’s `AbortSignal` and calls the iterator’s `return()`, so `finally` blocks run; pass that signal ' +
      'to `fetch` or the OpenAI/Anthropic SDK and the upstream model request is cancelled as well. ' +
      '`DELETE /v1/streams/:id` (the web page’s stop button) aborts a generation on purpose and ends its stream with an `abort` event. ' +
      'After a dropped connection a generation keeps running for `SLUICE_DETACH_GRACE_MS` (30 s) so it can be resumed, then is aborted.',
    zh: {
      title: '取消与 AbortSignal',
      text:
        '客户端断开或点击停止时，生成也应当停止，否则你还在为没人看的 token 付费。' +
        'sluice 会中止数据源的 `AbortSignal` 并调用迭代器的 `return()`，让 `finally` 块得以执行；' +
        '把这个 signal 传给 `fetch` 或 OpenAI/Anthropic SDK，上游的模型请求也会被取消。' +
        '`DELETE /v1/streams/:id`（网页上的停止按钮）会主动中止生成，流以 `abort` 事件结束。' +
        '连接意外断开后，生成会继续运行 `SLUICE_DETACH_GRACE_MS`（默认 30 秒）以便续传，之后才被中止。',
    },
    snippet: {
      lang: 'ts',
      code:
        'streamingResponse(async function* (signal) {\n' +
        '  const upstream = await openai.chat.completions.create({ model, messages, stream: true }, { signal });\n' +
        '  try {\n' +
        '    for await (const chunk of upstream) yield chunk.choices[0]?.delta.content ?? "";\n' +
        '  } finally {\n' +
        "    console.log('client gone or done: upstream released');\n" +
        '  }\n' +
        '});',
    },
  },
  {
    id: 'errors-mid-stream',
    title: 'Errors before and after the first byte',
    tags: ['error', 'errors', 'exception', 'status code', 'first byte', 'mid-stream', 'truncated', '500', 'onError', '错误', '异常', '状态码', '首字节'],
    text:
      'Once the first byte is sent the HTTP status is fixed, so an error has to be reported differently depending on when it happens. ' +
      'sluice holds the response head until the first item is ready: an error before it becomes a real status (400, 429, 503, …) ' +
      'with a JSON body `{"error":{"code","message"}}`. An error after it becomes an `error` event with a stable `code`, a safe ' +
      '`message` and `retryable`, followed by a clean close in SSE and the agent formats, or an aborted transfer in plain text, ' +
      'never a silently truncated “success”.',
    zh: {
      title: '首字节之前与之后的错误',
      text:
        '第一个字节发出后 HTTP 状态码就无法再改，所以错误的报告方式取决于它发生的时机。' +
        'sluice 会暂缓发送响应头，直到第一项数据就绪：在此之前的错误会变成真正的状态码（400、429、503 等）和 JSON 响应体 ' +
        '`{"error":{"code","message"}}`；在此之后的错误会变成一个 `error` 事件（带稳定的 `code`、可安全展示的 `message` 和 `retryable`），' +
        '然后在 SSE 和 Agent 格式中干净地关闭，纯文本格式则中断传输，绝不会把截断的内容伪装成“成功”。',
    },
  },
  {
    id: 'reconnection-resume',
    title: 'Reconnection and resume (Last-Event-ID)',
    tags: ['reconnect', 'reconnection', 'resume', 'Last-Event-ID', 'replay', 'reload', 'retry', 'redis', 'instance', 'store', '重连', '断线重连', '续传', '恢复', '刷新'],
    text:
      'A stream can survive a dropped connection or a page reload. Every agent stream has an id (the `x-stream-id` header) and ' +
      'numbered events kept in a stream log. `GET /v1/streams/:id` with `Last-Event-ID` (header or `?last_event_id=`) replays the ' +
      'events after that id, then follows the generation live; `EventSource` sends the header by itself when it reconnects. ' +
      'With `REDIS_URL` set the log lives in Redis, so the resume works on any server instance, not only the one running the model. ' +
      'An unknown or expired id answers 404.',
    zh: {
      title: '断线重连与续传（Last-Event-ID）',
      text:
        '流可以在断线或刷新页面后继续。每个 Agent 流都有一个 id（响应头 `x-stream-id`），带序号的事件保存在流日志中。' +
        '用 `Last-Event-ID`（请求头或 `?last_event_id=`）请求 `GET /v1/streams/:id`，会先重放该 id 之后的事件，再实时跟随生成；' +
        '浏览器的 `EventSource` 重连时会自动带上这个请求头。设置 `REDIS_URL` 后流日志存放在 Redis 中，' +
        '因此在任意服务器实例上都能续传，而不只是运行模型的那一台。未知或过期的 id 返回 404。',
    },
    snippet: {
      lang: 'sh',
      code: 'curl -N http://localhost:3000/v1/streams/$STREAM_ID -H "Last-Event-ID: 42"',
    },
  },
  {
    id: 'chunked-encoding',
    title: 'Chunked transfer encoding',
    tags: ['chunked', 'transfer-encoding', 'content-length', 'http/1.1', 'http/2', 'frames', '分块传输', '分块传输编码', '分块'],
    text:
      'HTTP/1.1 streams a body of unknown length with `Transfer-Encoding: chunked`: each chunk is sent as its size in hex, CRLF, ' +
      'the bytes, CRLF, and a zero-size chunk ends the body. The server needs no `Content-Length`, which it could not know while a ' +
      'model is still generating. HTTP/2 and HTTP/3 use DATA frames instead, and the code does not change. In sluice you never write ' +
      'chunks yourself: each write is flushed as it happens, and small items ready at the same time are batched into one write.',
    zh: {
      title: '分块传输编码',
      text:
        'HTTP/1.1 用 `Transfer-Encoding: chunked` 传输长度未知的响应体：每块先写十六进制的长度和 CRLF，再写数据和 CRLF，' +
        '最后以长度为 0 的块结束。服务器不需要 `Content-Length`——模型还在生成时也无法知道它。' +
        'HTTP/2 和 HTTP/3 改用 DATA 帧，代码不必改变。在 sluice 中你不用自己处理分块：每次写入都会立即发出，' +
        '同一时刻就绪的小数据项会合并成一次写入。',
    },
  },
  {
    id: 'async-generators',
    title: 'Async generators as sources',
    tags: ['generator', 'async generator', 'yield', 'async function*', 'for await', 'iterator', 'iterable', 'source', '生成器', '异步生成器', '迭代器'],
    text:
      'An async generator (`async function*`) is the natural shape of a stream: it `yield`s each piece and can `await` between them, ' +
      'just like a Python `async def` with `yield` handed to FastAPI. It runs only when the consumer asks for the next value, which is ' +
      'backpressure for free, and its `finally` block runs when the consumer stops early. sluice accepts it directly, or as a function ' +
      'of an `AbortSignal` so the generator can cancel its own upstream work.',
    zh: {
      title: '异步生成器作为数据源',
      text:
        '异步生成器（`async function*`）是流最自然的写法：用 `yield` 逐块产出，两次产出之间可以 `await`，' +
        '相当于交给 FastAPI 的 Python `async def` + `yield`。它只在消费者请求下一个值时才运行，天然具备背压；' +
        '消费者提前停止时，它的 `finally` 块会执行。sluice 可以直接接收它，也可以接收一个以 `AbortSignal` 为参数的函数，' +
        '让生成器自己取消上游工作。',
    },
    snippet: {
      lang: 'ts',
      code:
        'async function* countdown(signal: AbortSignal) {\n' +
        '  try {\n' +
        '    for (let i = 3; i > 0; i--) {\n' +
        '      yield `${i}…\\n`;\n' +
        '      await sleep(1000, signal);\n' +
        '    }\n' +
        "    yield 'liftoff\\n';\n" +
        '  } finally {\n' +
        "    console.log('runs on completion and on disconnect');\n" +
        '  }\n' +
        '}',
    },
  },
  {
    id: 'ndjson-sse-websocket',
    title: 'NDJSON vs SSE vs WebSocket',
    tags: ['ndjson', 'json lines', 'websocket', 'sse', 'comparison', 'choose', 'which', 'plain text', 'fetch', '对比', '选择', '区别'],
    text:
      'All three stream, but they fit different jobs. SSE is one-way server-to-client over plain HTTP, with event names, ids, ' +
      'automatic reconnection in `EventSource` and resume via `Last-Event-ID`: the best default for model output. NDJSON (one JSON object ' +
      'per line, `application/x-ndjson`) is the simplest to parse with `fetch` and suits data pipelines, but has no ids or reconnection. ' +
      'WebSocket is two-way and worth it only when the client also streams to the server (voice, collaborative editing); it needs its own ' +
      'heartbeats and does not pass every proxy. sluice serves SSE, NDJSON and plain text from the same agent stream.',
    zh: {
      title: 'NDJSON、SSE 与 WebSocket 的对比',
      text:
        '三者都能流式传输，但适用场景不同。SSE 基于普通 HTTP 单向推送（服务器到客户端），有事件名和 id，`EventSource` 会自动重连，' +
        '还能通过 `Last-Event-ID` 续传，是模型输出的最佳默认选择。NDJSON（每行一个 JSON 对象，`application/x-ndjson`）用 `fetch` 最容易解析，' +
        '适合数据管道，但没有 id 和重连机制。WebSocket 是双向的，只有客户端也要向服务器流式发送（语音、协同编辑）时才值得用，' +
        '它需要自己的心跳，也不是所有代理都支持。sluice 可以从同一个 Agent 流输出 SSE、NDJSON 和纯文本。',
    },
  },
  {
    id: 'protocol-endpoints',
    title: 'AI SDK, AG-UI and OpenAI-compatible endpoints',
    tags: ['ai sdk', 'vercel', 'useChat', 'ag-ui', 'HttpAgent', 'openai-compatible', 'chat/completions', 'endpoint', 'protocol', 'api', 'codec', '接口', '协议', '兼容'],
    text:
      'sluice serves one agent behind several protocols, so existing clients work unchanged. `POST /v1/chat` is the native agent-event ' +
      'stream (SSE; `Accept: text/plain` gives plain text, `Accept: application/x-ndjson` NDJSON). `POST /api/chat` speaks the Vercel AI SDK ' +
      'UI message stream, so `useChat` works against it. `POST /v1/ag-ui` is an AG-UI endpoint for `@ag-ui/client`’s `HttpAgent`. ' +
      '`POST /v1/chat/completions` is OpenAI-compatible, streaming or not, so any OpenAI client can use whichever provider sluice is configured with.',
    zh: {
      title: 'AI SDK、AG-UI 与 OpenAI 兼容接口',
      text:
        'sluice 用多种协议对外提供同一个 Agent，现有客户端无需修改即可使用。`POST /v1/chat` 是原生的 Agent 事件流（SSE；' +
        '`Accept: text/plain` 返回纯文本，`Accept: application/x-ndjson` 返回 NDJSON）。`POST /api/chat` 实现 Vercel AI SDK 的 UI 消息流协议，' +
        '可直接配合 `useChat`。`POST /v1/ag-ui` 是 AG-UI 接口，供 `@ag-ui/client` 的 `HttpAgent` 使用。' +
        '`POST /v1/chat/completions` 兼容 OpenAI（流式或非流式），任何 OpenAI 客户端都能通过它使用 sluice 配置的模型。',
    },
    snippet: {
      lang: 'sh',
      code: 'curl -N http://localhost:3000/v1/chat -H "Content-Type: application/json" \\\n  -d \'{"messages":[{"role":"user","content":"What is backpressure?"}]}\'',
    },
  },
  {
    id: 'agent-events',
    title: 'Agent events: text, thinking and tool calls',
    tags: ['agent event', 'events', 'text-delta', 'reasoning', 'thinking', 'tool call', 'tool-call', 'tool result', 'usage', 'finish', 'message-start', '事件', '思考过程', '工具调用', '智能体'],
    text:
      'An agent’s answer is more than text, so sluice streams typed events: `message-start`; `text-start`, `text-delta`, `text-end`; ' +
      '`reasoning-start/delta/end` for visible thinking; `tool-call-start`, `tool-call-delta` (fragments of the input JSON) and `tool-call`, ' +
      'then `tool-result` or `tool-error`; `source`, `progress` and `data`; `step-start`/`step-finish` around each model call of an ' +
      'agent run; `usage`; and exactly one final `finish`, `error` or `abort`. ' +
      'Deltas carry only the new fragment, so a client rebuilds a long answer in linear time.',
    zh: {
      title: 'Agent 事件：文本、思考与工具调用',
      text:
        'Agent 的回答不只是文本，所以 sluice 流式发送带类型的事件：`message-start`；`text-start`、`text-delta`、`text-end`；' +
        '展示思考过程的 `reasoning-start/delta/end`；`tool-call-start`、`tool-call-delta`（输入 JSON 的片段）和 `tool-call`，' +
        '随后是 `tool-result` 或 `tool-error`；`source`、`progress` 和 `data`；Agent 每次调用模型前后的 `step-start`/`step-finish`；' +
        '`usage`；最后恰好一个 `finish`、`error` 或 `abort`。' +
        '增量事件只携带新片段，客户端可以在线性时间内拼出长回答。',
    },
  },
  {
    id: 'llm-streaming-apis',
    title: 'Streaming from OpenAI and Anthropic',
    tags: ['openai', 'anthropic', 'claude', 'gpt', 'llm', 'stream: true', 'sdk', 'chunk', 'delta', 'integrate', '大模型', '集成', '流式接口'],
    text:
      'OpenAI and Anthropic both stream over SSE when you ask for it (`stream: true`), but with different shapes: OpenAI sends ' +
      '`chat.completion.chunk` objects whose `choices[0].delta` holds new text or tool-call fragments, Anthropic sends typed events ' +
      '(`message_start`, `content_block_delta`, `message_stop`, …) with thinking and tool input as separate blocks. sluice’s providers ' +
      'map both onto the same agent events, forward your `AbortSignal` to the SDK, and turn upstream failures into `error` events with ' +
      'a stable code and a `retryable` flag.',
    zh: {
      title: '集成 OpenAI 与 Anthropic 的流式 API',
      text:
        'OpenAI 和 Anthropic 在请求 `stream: true` 时都通过 SSE 流式返回，但格式不同：OpenAI 发送 `chat.completion.chunk` 对象，' +
        '新文本或工具调用片段在 `choices[0].delta` 中；Anthropic 发送带类型的事件（`message_start`、`content_block_delta`、`message_stop` 等），' +
        '思考和工具输入是独立的内容块。sluice 的 provider 把两者映射为同一套 Agent 事件，把你的 `AbortSignal` 传给 SDK，' +
        '并把上游失败转换成带稳定错误码和 `retryable` 标志的 `error` 事件。',
    },
  },
  {
    id: 'rag-sources',
    title: 'RAG sources streamed as they are found',
    tags: ['rag', 'retrieval', 'search', 'sources', 'citations', 'documents', 'source event', 'knowledge base', '检索', '知识库', '引用', '来源'],
    text:
      'In retrieval-augmented generation the search finishes long before the answer, so show what was found right away. ' +
      'sluice’s RAG tool emits a `source` event (id, title, url, snippet, score) for each document as it is retrieved, before and ' +
      'while the model writes; the web page lists them under the answer. Users see that the agent is working and can check its citations.',
    zh: {
      title: 'RAG：边检索边展示来源',
      text:
        '在检索增强生成（RAG）中，检索远早于回答完成，所以应该立刻展示找到的内容。' +
        'sluice 的 RAG 工具每检索到一个文档就发出一个 `source` 事件（包含 id、标题、url、摘要和得分），在模型写回答之前和期间持续发送；' +
        '网页会把它们列在回答下方。用户能看到 Agent 正在工作，也能核对引用来源。',
    },
  },
  {
    id: 'job-progress',
    title: 'Progress of long jobs',
    tags: ['progress', 'job', 'jobs', 'long task', 'report', 'analysis', 'percent', 'background', '进度', '长任务', '任务', '数据分析', '报告'],
    text:
      'A long job (a report, a data analysis) should report progress instead of leaving the user staring at a spinner. ' +
      '`POST /v1/jobs` with `{"kind":"report"}` or `{"kind":"analysis"}` answers `202 {"id"}`; `GET /v1/jobs/:id/events` then streams ' +
      '`progress` events (`done`, `total`; `done` never goes back), intermediate `data` events, and a final `finish` or `error`. ' +
      'Because it is SSE with ids, a client that reconnects continues where it left off.',
    zh: {
      title: '长任务的进度推送',
      text:
        '长任务（生成报告、数据分析）应该实时汇报进度，而不是让用户盯着转圈。' +
        '`POST /v1/jobs` 发送 `{"kind":"report"}` 或 `{"kind":"analysis"}`，返回 `202 {"id"}`；' +
        '随后 `GET /v1/jobs/:id/events` 流式发送 `progress` 事件（`done`、`total`，`done` 只增不减）、中间结果 `data` 事件，' +
        '最后是 `finish` 或 `error`。由于是带 id 的 SSE，客户端重连后会从中断处继续。',
    },
  },
  {
    id: 'large-files-range',
    title: 'Large files in chunks with Range',
    tags: ['file', 'files', 'large file', 'download', 'range', '206', '416', 'etag', 'partial content', 'video', 'memory', '大文件', '下载', '断点续传', '视频'],
    text:
      'A large file should never be read into memory. `GET /v1/files/:name` streams files from `SLUICE_FILES_DIR` in chunks with ' +
      'constant memory whatever their size, and honours `Range` requests: `206 Partial Content` for a satisfiable range, `416` otherwise, ' +
      'with an `ETag` so a client can resume a download or a video player can seek. Paths cannot escape that folder.',
    zh: {
      title: '大文件分块传输与 Range',
      text:
        '大文件绝不应该整个读进内存。`GET /v1/files/:name` 从 `SLUICE_FILES_DIR` 分块流式发送文件，无论文件多大内存占用都恒定，' +
        '并支持 `Range` 请求：范围有效时返回 `206 Partial Content`，否则返回 `416`；配合 `ETag`，客户端可以断点续传，视频播放器可以拖动进度。' +
        '路径无法逃出该目录。',
    },
    snippet: {
      lang: 'sh',
      code: 'curl -H "Range: bytes=0-1048575" -o part1 http://localhost:3000/v1/files/big.mp4',
    },
  },
  {
    id: 'event-push',
    title: 'Real-time event push',
    tags: ['push', 'pub/sub', 'publish', 'subscribe', 'topic', 'events', 'notification', 'realtime', 'real-time', 'redis', 'fan-out', '推送', '实时事件', '订阅', '发布', '通知'],
    text:
      'Servers often need to push events nobody asked for in that moment: notifications, status changes, another user’s message. ' +
      'Subscribe with `GET /v1/events?topic=T` (SSE) and publish with `POST /v1/events` and a body `{"topic","event","data"}`, which answers ' +
      '`202 {"id"}`. In memory by default; with `REDIS_URL` set, publishing on one instance reaches subscribers on every instance.',
    zh: {
      title: '实时事件推送',
      text:
        '服务器常常需要主动推送事件：通知、状态变化、其他用户的消息。用 `GET /v1/events?topic=T`（SSE）订阅，' +
        '用 `POST /v1/events` 发布，请求体为 `{"topic","event","data"}`，返回 `202 {"id"}`。默认在内存中分发；' +
        '设置 `REDIS_URL` 后，在一个实例上发布的事件会送达所有实例上的订阅者。',
    },
    snippet: {
      lang: 'sh',
      code:
        'curl -N "http://localhost:3000/v1/events?topic=orders" &\n' +
        'curl http://localhost:3000/v1/events -H "Content-Type: application/json" \\\n  -d \'{"topic":"orders","event":"created","data":{"id":1}}\'',
    },
  },
  {
    id: 'switch-provider',
    title: 'Switching to a real model',
    tags: ['provider', 'model', 'real model', 'api key', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'SLUICE_MODEL', 'OPENAI_BASE_URL', 'ollama', 'vllm', 'deepseek', 'qwen', 'configure', 'switch', '切换', '配置', '模型', '密钥'],
    text:
      'Set a key and name the model: `OPENAI_API_KEY=sk-… SLUICE_MODEL=openai:gpt-4o-mini npm start`, or `ANTHROPIC_API_KEY=… ' +
      'SLUICE_MODEL=anthropic:claude-sonnet-4-5`. For Ollama, vLLM, LM Studio, DeepSeek or Qwen use `openai-compatible:<model>` with ' +
      '`OPENAI_BASE_URL`. A request can also pick a model with its `"model"` field. Without any key sluice falls back to `local`, this demo model.',
    zh: {
      title: '切换到真正的模型',
      text:
        '设置密钥并指定模型即可：`OPENAI_API_KEY=sk-… SLUICE_MODEL=openai:gpt-4o-mini npm start`，或 `ANTHROPIC_API_KEY=… ' +
        'SLUICE_MODEL=anthropic:claude-sonnet-4-5`。Ollama、vLLM、LM Studio、DeepSeek、通义千问等使用 `openai-compatible:<模型名>` 并设置 ' +
        '`OPENAI_BASE_URL`。单个请求也可以用 `"model"` 字段选择模型。没有任何密钥时，sluice 使用 `local`，也就是这个演示模型。',
    },
    snippet: {
      lang: 'sh',
      code: 'export OPENAI_API_KEY=sk-...\nSLUICE_MODEL=openai:gpt-4o-mini npm start',
    },
  },
  {
    id: 'local-demo-model',
    title: 'About this local demo model',
    tags: ['local', 'demo', 'demo model', 'who are you', 'what are you', 'offline', 'fake', 'ttft', 'tps', 'tokens per second', 'latency', 'SLUICE_LOCAL_TTFT_MS', 'SLUICE_LOCAL_TPS', '演示模型', '本地模型', '你是谁', '首字延迟'],
    text:
      'The `local` model is a deterministic demo that needs no key and no network: it answers from this small knowledge base and paces ' +
      'itself like a real model, waiting `SLUICE_LOCAL_TTFT_MS` (default 300) before the first token, then writing `SLUICE_LOCAL_TPS` ' +
      'tokens per second (default 40; `0` turns pacing off). It streams every kind of event a real provider does: thinking, text, ' +
      'tool calls when tools are offered and asked for, usage and finish, so the whole pipeline can be tried offline.',
    zh: {
      title: '关于这个本地演示模型',
      text:
        '`local` 模型是一个确定性的演示模型，不需要密钥也不需要联网：它根据这个小知识库作答，并像真实模型一样控制节奏——' +
        '先等待 `SLUICE_LOCAL_TTFT_MS`（默认 300 毫秒）再输出第一个 token，之后每秒输出 `SLUICE_LOCAL_TPS` 个 token（默认 40；设为 `0` 关闭节奏控制）。' +
        '它会发出真实 provider 的各类事件：思考过程、文本、（提供了工具且请求需要时的）工具调用、用量和结束事件，整条链路可以离线体验。',
    },
  },
];
