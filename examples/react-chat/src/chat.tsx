/**
 * A chat on sluice's `/api/chat` with the AI SDK's `useChat`, unchanged: the answer streams in;
 * Stop stops it on the server too; after a reload the answer in progress resumes (`resume: true`,
 * `GET /api/chat/:id/stream`); a tool that needs approval shows Approve / Deny, answered with
 * `addToolApprovalResponse` (the next `POST /api/chat` carries the answer and the run goes on).
 */
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage } from 'ai';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Message } from './message.tsx';
import { chatId, loadMessages, saveMessages } from './storage.ts';

export function Chat() {
  const [input, setInput] = useState('');
  // sluice names each stream in the response's `x-stream-id` header; the stop button uses it to
  // stop the generation on the server (closing the request alone leaves it to the detach grace).
  const streamId = useRef<string | null>(null);
  const transport = useMemo(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: '/api/chat',
        fetch: async (url, init) => {
          const response = await fetch(url, init);
          streamId.current = response.headers.get('x-stream-id') ?? streamId.current;
          return response;
        },
      }),
    [],
  );
  const { messages, sendMessage, status, stop, addToolApprovalResponse, error } = useChat({
    id: chatId(),
    messages: loadMessages(),
    transport,
    resume: true,
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
  });

  useEffect(() => {
    // Complete messages only: an answer still streaming comes back by resuming, not from here.
    if (status === 'ready' || status === 'error') saveMessages(messages);
    else saveMessages(messages.filter((message, index) => !(index === messages.length - 1 && message.role === 'assistant')));
  }, [messages, status]);

  const busy = status === 'submitted' || status === 'streaming';
  const onStop = () => {
    const id = streamId.current;
    void stop();
    if (id !== null) void fetch(`/v1/streams/${encodeURIComponent(id)}`, { method: 'DELETE' });
  };

  return (
    <main>
      <h1>sluice + useChat</h1>
      <section className="log" aria-label="conversation">
        {messages.map((message) => (
          <Message key={message.id} message={message} onApproval={(id, approved) => void addToolApprovalResponse({ id, approved })} />
        ))}
        {error && <p className="error">{error.message}</p>}
      </section>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (input.trim() === '' || busy) return;
          void sendMessage({ text: input });
          setInput('');
        }}
      >
        <input value={input} onChange={(event) => setInput(event.target.value)} placeholder='Try: Publish "hello" on topic demo' aria-label="message" />
        {busy ? (
          <button type="button" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button type="submit">Send</button>
        )}
      </form>
      <p className="status" data-status={status}>
        {status}
      </p>
    </main>
  );
}
