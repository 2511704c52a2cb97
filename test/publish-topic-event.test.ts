/**
 * `publishTopicEvent` takes a point of `publish_per_minute` only once every other check has
 * passed: a publish refused for `topics`, or because the store cannot be had (a 501 for a missing
 * `redis` package, a 503), costs the publisher nothing.
 */
import { describe, expect, it, vi } from 'vitest';
import { HttpError } from '../src/server/http-error.ts';
import { publishTopicEvent, type TopicPublisher } from '../src/server/publish-topic-event.ts';

function publisher(options: { store?: () => Promise<never>; topicsFull?: boolean } = {}) {
  const published: string[] = [];
  const consume = vi.fn(() => Promise.resolve());
  const acquire = vi.fn(() => (options.topicsFull === true ? Promise.reject(new HttpError(429, 'rate_limited', 'Limit `topics` reached.')) : Promise.resolve({ release: () => {} })));
  const store: TopicPublisher['store'] =
    options.store ??
    (() =>
      Promise.resolve({
        publish: (topic: string) => {
          published.push(topic);
          return Promise.resolve(String(published.length));
        },
      }));
  return { publisher: { quotas: { consume, acquire }, store, maxEventBytes: 65_536 } satisfies TopicPublisher, consume, acquire, published };
}

const who = { subject: 'key:k', owner: 'k' };

describe('publishTopicEvent', () => {
  it('takes one point of publish_per_minute for a publish that goes through', async () => {
    const { publisher: p, consume, published } = publisher();
    expect(await publishTopicEvent(p, who, 'news', { data: 1 })).toBe('1');
    expect(consume).toHaveBeenCalledTimes(1);
    expect(consume).toHaveBeenCalledWith('key:k', 'publish_per_minute');
    expect(published).toEqual(['news']);
  });

  it('takes none for a publish refused for topics', async () => {
    const { publisher: p, consume, published } = publisher({ topicsFull: true });
    await expect(publishTopicEvent(p, who, 'news', { data: 1 })).rejects.toMatchObject({ status: 429 });
    expect(consume).not.toHaveBeenCalled();
    expect(published).toEqual([]);
  });

  it('takes none, and no topic slot, when the store cannot be had (501 missing_dependency)', async () => {
    const { publisher: p, consume, acquire } = publisher({ store: () => Promise.reject(new HttpError(501, 'missing_dependency', 'install redis')) });
    await expect(publishTopicEvent(p, who, 'news', { data: 1 })).rejects.toMatchObject({ status: 501 });
    expect(consume).not.toHaveBeenCalled();
    expect(acquire).not.toHaveBeenCalled();
  });

  it('takes none for a bad topic, and quotes at most 100 characters of it', async () => {
    const { publisher: p, consume } = publisher();
    const error = (await publishTopicEvent(p, who, '#'.repeat(5_000), { data: 1 }).then(
      () => undefined,
      (caught: unknown) => caught,
    )) as HttpError;
    expect(error).toMatchObject({ status: 400 });
    expect(error.message).toContain(`"${'#'.repeat(100)}…"`);
    expect(error.message.length).toBeLessThan(250);
    expect(consume).not.toHaveBeenCalled();
  });
});
