/**
 * One message: its text, thinking, and a card per tool call, with Approve / Deny while the call
 * waits for approval.
 */
import { isToolUIPart, getToolName, type UIMessage } from 'ai';

export function Message({ message, onApproval }: { message: UIMessage; onApproval: (approvalId: string, approved: boolean) => void }) {
  return (
    <article className={`msg ${message.role}`} data-message-id={message.id}>
      <div className="role">{message.role === 'user' ? 'you' : 'assistant'}</div>
      {message.parts.map((part, index) => {
        if (part.type === 'text') return <p key={index} className="text">{part.text}</p>;
        if (part.type === 'reasoning') return <details key={index} className="thinking"><summary>thinking</summary>{part.text}</details>;
        if (!isToolUIPart(part)) return null;
        return (
          <div key={part.toolCallId} className="tool" data-state={part.state}>
            <div className="tool-head">
              ⚙ {getToolName(part)} <span className="tool-state">{part.state}</span>
            </div>
            <pre className="tool-input">{JSON.stringify(part.input ?? null)}</pre>
            {part.state === 'approval-requested' && (
              <div className="approval">
                This tool needs your approval.
                <button type="button" onClick={() => onApproval(part.approval.id, true)}>Approve</button>
                <button type="button" onClick={() => onApproval(part.approval.id, false)}>Deny</button>
              </div>
            )}
            {part.state === 'output-available' && <pre className="tool-output">{JSON.stringify(part.output)}</pre>}
            {part.state === 'output-error' && <p className="error">{part.errorText}</p>}
            {part.state === 'output-denied' && <p className="denied">denied</p>}
          </div>
        );
      })}
    </article>
  );
}
