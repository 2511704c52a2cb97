/**
 * The page's long demo video (`GET /v1/files/sample-video-long.webm`), made on first use from the
 * shipped 12 s one: a valid, seekable WebM of 25 rounds (cluster timestamps moved on, the duration
 * multiplied, a cue per cluster pointing at that cluster, a seek head pointing at the cues), served
 * with Range support and not shipped in the package.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendError } from '../src/server/http-error.ts';
import { Router } from '../src/server/router.ts';
import { LONG_VIDEO_LOOPS, LONG_VIDEO_NAME, createSampleFilesRoute } from '../src/server/routes/sample-files.ts';
import { loopWebm } from '../src/server/routes/sample-video.ts';
import { startServer, type TestServer } from './helpers/http.ts';

/** Reads an EBML number at `offset`. */
function vint(data: Uint8Array, offset: number, keepMarker: boolean): { value: number; length: number } {
  const first = data[offset] ?? 0;
  let length = 1;
  let mask = 0x80;
  while ((first & mask) === 0) {
    mask >>= 1;
    length++;
  }
  let value = keepMarker ? first : first & (mask - 1);
  for (let i = 1; i < length; i++) value = value * 256 + (data[offset + i] ?? 0);
  return { value, length };
}

interface Node {
  id: number;
  at: number;
  start: number;
  end: number;
}

function elements(data: Uint8Array, start: number, end: number): Node[] {
  const out: Node[] = [];
  for (let at = start; at < end; ) {
    const id = vint(data, at, true);
    const size = vint(data, at + id.length, false);
    const begin = at + id.length + size.length;
    out.push({ id: id.value, at, start: begin, end: begin + size.value });
    at = begin + size.value;
  }
  expect(out.at(-1)?.end, 'elements end exactly at their parent’s end').toBe(end);
  return out;
}

const uint = (data: Uint8Array, node: Node): number => {
  let value = 0;
  for (let i = node.start; i < node.end; i++) value = value * 256 + (data[i] ?? 0);
  return value;
};

const short = new URL('../samples/sample-video.webm', import.meta.url);

describe('loopWebm', () => {
  it('plays the short video 25 times as one seekable WebM: timestamps moved on, duration multiplied, a cue per cluster', async () => {
    const source = new Uint8Array(await readFile(short));
    const long = loopWebm(source, LONG_VIDEO_LOOPS);
    expect(long.length).toBeGreaterThan(LONG_VIDEO_LOOPS * (source.length - 2000));
    const [header, segment] = elements(long, 0, long.length);
    expect(header?.id).toBe(0x1a45dfa3);
    expect(segment?.id).toBe(0x18538067);
    const parts = elements(long, segment!.start, segment!.end);
    const sourceClusters = elements(source, 0, source.length)
      .filter((node) => node.id === 0x18538067)
      .flatMap((seg) => elements(source, seg.start, seg.end))
      .filter((node) => node.id === 0x1f43b675);

    const clusters = parts.filter((node) => node.id === 0x1f43b675);
    expect(clusters).toHaveLength(sourceClusters.length * LONG_VIDEO_LOOPS);
    const times = clusters.map((cluster) => uint(long, elements(long, cluster.start, cluster.end).find((node) => node.id === 0xe7)!));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
    expect(times[sourceClusters.length]).toBe(12_000);

    const info = parts.find((node) => node.id === 0x1549a966)!;
    const duration = elements(long, info.start, info.end).find((node) => node.id === 0x4489)!;
    expect(new DataView(long.buffer, long.byteOffset).getFloat64(duration.start)).toBe(12_000 * LONG_VIDEO_LOOPS);

    // Each cue points at its cluster (positions count from the segment's data).
    const cues = parts.find((node) => node.id === 0x1c53bb6b)!;
    const points = elements(long, cues.start, cues.end);
    expect(points).toHaveLength(clusters.length);
    for (const [index, point] of points.entries()) {
      const [time, positions] = elements(long, point.start, point.end);
      expect(uint(long, time!)).toBe(times[index]);
      const position = elements(long, positions!.start, positions!.end).find((node) => node.id === 0xf1)!;
      expect(segment!.start + uint(long, position)).toBe(clusters[index]!.at);
    }
    // The seek head finds the cues.
    const seekHead = parts[0]!;
    expect(seekHead.id).toBe(0x114d9b74);
    const seekPositions = elements(long, seekHead.start, seekHead.end).map((seek) => {
      const [id, position] = elements(long, seek.start, seek.end);
      return { id: uint(long, id!), at: segment!.start + uint(long, position!) };
    });
    expect(seekPositions.find((seek) => seek.id === 0x1c53bb6b)?.at).toBe(cues.at);
    expect(seekPositions.find((seek) => seek.id === 0x1549a966)?.at).toBe(info.at);
  });
});

describe(`GET /v1/files/${LONG_VIDEO_NAME}`, () => {
  let server: TestServer;
  let cacheDir: string;

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-long-video-'));
    const files = createSampleFilesRoute({ cacheDir });
    const router = new Router().on('GET', '/v1/files/:name', files);
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
      Promise.resolve(handler(req, res, { url, params })).catch((error: unknown) => sendError(res, error));
    });
  });
  afterAll(async () => {
    await server?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('is made on first use and served with Range support', async () => {
    const whole = await fetch(`${server.url}/v1/files/${LONG_VIDEO_NAME}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/webm');
    const bytes = new Uint8Array(await whole.arrayBuffer());
    expect(bytes).toEqual(loopWebm(new Uint8Array(await readFile(short)), LONG_VIDEO_LOOPS));
    const middle = await fetch(`${server.url}/v1/files/${LONG_VIDEO_NAME}`, { headers: { range: 'bytes=4000000-4000999' } });
    expect(middle.status).toBe(206);
    expect(new Uint8Array(await middle.arrayBuffer())).toEqual(bytes.subarray(4_000_000, 4_001_000));
  });
});
