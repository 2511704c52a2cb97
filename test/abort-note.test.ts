/**
 * The words a client prints for an `abort`: never the reason code twice ("stopped (stopped)") nor
 * the runtime's "This operation was aborted".
 */
import { describe, expect, it } from 'vitest';
import { describeAbort } from '../src/protocol/abort-note.ts';

describe('describeAbort', () => {
  it('says "stopped", "by you" when this client asked, never the code or the runtime message again', () => {
    expect(describeAbort('stopped')).toBe('stopped');
    expect(describeAbort('stopped', true)).toBe('stopped (by you)');
    expect(describeAbort('This operation was aborted', true)).toBe('stopped (by you)');
    expect(describeAbort('The operation was aborted.')).toBe('stopped');
    expect(describeAbort(undefined)).toBe('stopped');
  });

  it('explains the server reasons and keeps a reason that says more', () => {
    expect(describeAbort('detached')).toBe('stopped (no one was following the answer)');
    expect(describeAbort('shutdown')).toBe('stopped (the server shut down)');
    expect(describeAbort('stopped by user')).toBe('stopped (stopped by user)');
  });
});
