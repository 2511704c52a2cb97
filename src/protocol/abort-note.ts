/**
 * How a client says that an answer was stopped (its `abort` event), in words a person reads: the
 * web page's closing note and `sluice chat`'s last line. The server's reasons (`stopped`,
 * `detached`, `shutdown`) and the runtime's own abort messages ("This operation was aborted") are
 * codes, not sentences, so they are not printed as they are.
 *
 * @module
 */

/** Abort messages that only say "aborted" (the runtime's defaults, the CLI's Ctrl-C). */
const GENERIC = /^(this operation was aborted|the operation was aborted\.?|the generation was stopped\.?|stopped with ctrl-c\.?|aborted|aborterror)$/i;

/**
 * The note for an `abort` event.
 * @param reason - the event's `reason`
 * @param byYou - this client asked for the stop (the stop button, Ctrl-C)
 * @returns `stopped`, `stopped (by you)`, or `stopped (` a reason that says more `)`
 */
export function describeAbort(reason: string | undefined, byYou = false): string {
  const text = reason?.trim() ?? '';
  switch (text) {
    case 'detached':
      return 'stopped (no one was following the answer)';
    case 'shutdown':
      return 'stopped (the server shut down)';
    default:
      break;
  }
  if (text === '' || text.toLowerCase() === 'stopped' || GENERIC.test(text)) return byYou ? 'stopped (by you)' : 'stopped';
  return `stopped (${text})`;
}
