import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from './sleep.ts';

describe('sleep', () => {
  it('resolves after the delay', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('rejects at once with the reason of a signal that already aborted', async () => {
    await expect(sleep(10_000, AbortSignal.abort(new Error('stop')))).rejects.toThrow('stop');
  });

  it('rejects every pending sleep with the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const sleeps = Array.from({ length: 3 }, () => sleep(10_000, controller.signal));
    controller.abort(new Error('gone'));
    for (const pending of sleeps) await expect(pending).rejects.toThrow('gone');
  });

  it('puts one abort listener on a signal however many sleeps wait on it', async () => {
    const controller = new AbortController();
    const sleeps = Array.from({ length: 100 }, () => sleep(5, controller.signal));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await Promise.all(sleeps);
    await sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
  });
});
