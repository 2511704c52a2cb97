/**
 * The approvals of the Redis store (docs/approval.md): a key per approval beside its stream's keys
 * (pending: the empty string; answered: the answer), answered once by a Lua step that publishes the
 * answer on the key's `:answered` channel, which a waiting instance subscribes to on its subscriber
 * connection before it reads the key.
 *
 * @module
 */
import { StoreError } from './errors.ts';
import { SCRIPTS, type Client, type RedisConnection } from './redis-connection.ts';
import type { RedisKeys } from './redis-keys.ts';
import type { AnswerApprovalResult, ApprovalAnswer } from './types.ts';

/** The approvals of one store instance (see the module's documentation). */
export class RedisApprovals {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #ttlMs: number;
  /** Approvals waited on by this instance: their channel → a check of the key (after a reconnect, an answer published meanwhile is only in the key). */
  readonly #approvalWaits = new Map<string, { subscribed: boolean; check: () => void; answered: (message: string) => void }>();

  constructor(conn: RedisConnection, keys: RedisKeys, ttlMs: number) {
    this.#conn = conn;
    this.#keys = keys;
    this.#ttlMs = ttlMs;
  }

  async open(streamId: string, approvalId: string): Promise<void> {
    const keys = this.#keys.stream(streamId);
    // Pending is the empty string; it lives at least as long as a finished stream.
    await this.#conn.command(() => this.#conn.cmd.sendCommand(['SET', this.#keys.approval(keys, approvalId), '', 'PX', String(this.#ttlMs * 2), 'NX']));
  }

  async answer(streamId: string, approvalId: string, answer: ApprovalAnswer): Promise<AnswerApprovalResult> {
    const key = this.#keys.approval(this.#keys.stream(streamId), approvalId);
    const json = JSON.stringify(answer.reason === undefined ? { approved: answer.approved } : { approved: answer.approved, reason: answer.reason });
    const result = await this.#conn.run(SCRIPTS.answerApproval, [key], [json, `${key}:answered`]);
    return result === 1 ? 'answered' : result === 2 ? 'already_answered' : 'not_found';
  }

  wait(streamId: string, approvalId: string, options: { signal?: AbortSignal } = {}): Promise<ApprovalAnswer> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = this.#keys.approval(this.#keys.stream(streamId), approvalId);
    const channel = `${key}:answered`;
    return new Promise<ApprovalAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, answer?: ApprovalAnswer): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        const wait = this.#approvalWaits.get(channel);
        this.#approvalWaits.delete(channel);
        if (wait?.subscribed === true) this.#conn.sub?.unsubscribe(channel).catch((unsubscribeError: unknown) => this.#conn.onError(unsubscribeError));
        if (answer !== undefined) resolve(answer);
        else reject(error);
      };
      const answered = (message: string): void => {
        try {
          finish(undefined, JSON.parse(message) as ApprovalAnswer);
        } catch (error) {
          finish(error);
        }
      };
      // Subscribed first, then read: an answer given in between is in the key.
      const check = (): void => {
        this.#conn.command(() => this.#conn.cmd.get(key)).then(
          (value) => {
            if (value === null) finish(new StoreError('not_found', `No approval ${JSON.stringify(approvalId)} in stream ${JSON.stringify(streamId)}.`));
            else if (value !== '') answered(value);
          },
          (error: unknown) => this.#conn.onError(error),
        );
      };
      const onAbort = (): void => finish(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#approvalWaits.set(channel, { subscribed: false, check, answered });
      const sub = this.#conn.subscriber();
      // Not connected yet: the subscriber's 'ready' handler subscribes it.
      if (sub.isReady) this.#subscribeApproval(sub, channel);
    });
  }

  #subscribeApproval(sub: Client, channel: string): void {
    const wait = this.#approvalWaits.get(channel);
    if (wait === undefined) return;
    if (wait.subscribed) {
      wait.check();
      return;
    }
    wait.subscribed = true;
    sub.subscribe(channel, (message) => this.#approvalWaits.get(channel)?.answered(message)).then(
      () => wait.check(),
      (error: unknown) => {
        wait.subscribed = false;
        this.#conn.onError(error);
      },
    );
  }

  /** The subscriber (re)connected: subscribe the waits that asked meanwhile, check the others' keys. */
  resubscribe(sub: Client): void {
    for (const channel of this.#approvalWaits.keys()) this.#subscribeApproval(sub, channel);
  }
}
