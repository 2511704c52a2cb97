/**
 * The page's long demo video, made from the short one that ships (`sample-video.webm`, 12 s,
 * about 220 KB): its clusters repeated with their timestamps moved on, in one WebM with a
 * duration, a seek head and a cue per cluster. A video this small is loaded whole by a browser, so
 * seeking it never asks for a `Range`; the long one (5 minutes, about 5 MB) is not, and is not
 * shipped either: it is written on first use like `large-sample.bin`. Matroska/EBML only, no
 * encoder: the frames are the short video's own (each cluster starts with a keyframe).
 *
 * @module
 */

/** EBML ids used here. */
const ID = {
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  duration: 0x4489,
  timestampScale: 0x2ad7b1,
  tracks: 0x1654ae6b,
  tags: 0x1254c367,
  cluster: 0x1f43b675,
  clusterTimestamp: 0xe7,
  cues: 0x1c53bb6b,
  cuePoint: 0xbb,
  cueTime: 0xb3,
  cueTrackPositions: 0xb7,
  cueTrack: 0xf7,
  cueClusterPosition: 0xf1,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
} as const;

interface Element {
  id: number;
  /** Where the element's data starts and ends in the buffer. */
  start: number;
  end: number;
  /** Where the element (its id) starts. */
  at: number;
}

function readVint(data: Uint8Array, offset: number, keepMarker: boolean): { value: number; length: number } {
  const first = data[offset];
  if (first === undefined || first === 0) throw new Error(`Not a WebM file: bad EBML number at byte ${offset}.`);
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

/** The elements between `start` and `end`. */
function children(data: Uint8Array, start: number, end: number): Element[] {
  const out: Element[] = [];
  for (let at = start; at < end; ) {
    const id = readVint(data, at, true);
    const size = readVint(data, at + id.length, false);
    const dataStart = at + id.length + size.length;
    const unknown = size.value === 2 ** (7 * size.length) - 1;
    const dataEnd = unknown ? end : dataStart + size.value;
    out.push({ id: id.value, start: dataStart, end: dataEnd, at });
    at = dataEnd;
  }
  return out;
}

function idBytes(id: number): number[] {
  const bytes: number[] = [];
  for (let value = id; value > 0; value = Math.floor(value / 256)) bytes.unshift(value % 256);
  return bytes;
}

/** An 8-byte EBML size. */
function sizeBytes(size: number): number[] {
  const bytes = [0x01];
  for (let i = 6; i >= 0; i--) bytes.push(Math.floor(size / 2 ** (8 * i)) % 256);
  return bytes;
}

function element(id: number, ...parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  return concat([Uint8Array.from([...idBytes(id), ...sizeBytes(size)]), ...parts]);
}

/** An unsigned integer element, 8 bytes of data (so its size never depends on its value). */
function uintElement(id: number, value: number): Uint8Array {
  const bytes: number[] = [];
  for (let i = 7; i >= 0; i--) bytes.push(Math.floor(value / 2 ** (8 * i)) % 256);
  return element(id, Uint8Array.from(bytes));
}

function readUint(data: Uint8Array, item: Element): number {
  let value = 0;
  for (let i = item.start; i < item.end; i++) value = value * 256 + (data[i] ?? 0);
  return value;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A WebM that plays `source` `times` times in a row, seekable: its clusters repeated with their
 * timestamps moved on by the source's duration, Info's duration multiplied, a new seek head and a
 * cue per cluster (for the video track).
 * @param source - a WebM file whose clusters each start with a keyframe, with a duration in its Info
 * @param times - how many times it plays (1 or more)
 * @returns the new file's bytes
 */
export function loopWebm(source: Uint8Array, times: number): Uint8Array {
  const top = children(source, 0, source.length);
  const header = top[0];
  const segment = top.find((item) => item.id === ID.segment);
  if (header === undefined || segment === undefined) throw new Error('Not a WebM file: no EBML header or Segment.');
  const parts = children(source, segment.start, segment.end);
  const info = parts.find((item) => item.id === ID.info);
  const tracks = parts.find((item) => item.id === ID.tracks);
  const clusters = parts.filter((item) => item.id === ID.cluster);
  if (info === undefined || tracks === undefined || clusters.length === 0) throw new Error('Not a WebM file: no Info, Tracks or Cluster.');
  const tags = parts.find((item) => item.id === ID.tags);

  // Info with the duration multiplied (a float, in TimestampScale units).
  const infoFields = children(source, info.start, info.end);
  const durationField = infoFields.find((item) => item.id === ID.duration);
  if (durationField === undefined) throw new Error('The WebM file has no duration.');
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const duration = durationField.end - durationField.start === 4 ? view.getFloat32(durationField.start) : view.getFloat64(durationField.start);
  const step = Math.round(duration);
  const newDuration = new Uint8Array(8);
  new DataView(newDuration.buffer).setFloat64(0, step * times);
  const newInfo = element(
    ID.info,
    ...infoFields.map((item) => (item.id === ID.duration ? element(ID.duration, newDuration) : source.subarray(item.at, item.end))),
  );

  // The video track's number, for the cues.
  let videoTrack = 1;
  for (const entry of children(source, tracks.start, tracks.end).filter((item) => item.id === ID.trackEntry)) {
    const fields = children(source, entry.start, entry.end);
    const type = fields.find((item) => item.id === ID.trackType);
    const number = fields.find((item) => item.id === ID.trackNumber);
    if (type !== undefined && number !== undefined && readUint(source, type) === 1) {
      videoTrack = readUint(source, number);
      break;
    }
  }

  // Clusters, each with its timestamp moved on by `step` per repetition.
  const newClusters: { bytes: Uint8Array; time: number }[] = [];
  for (let round = 0; round < times; round++) {
    for (const cluster of clusters) {
      const fields = children(source, cluster.start, cluster.end);
      const stamp = fields.find((item) => item.id === ID.clusterTimestamp);
      const time = (stamp === undefined ? 0 : readUint(source, stamp)) + round * step;
      const rest = fields.filter((item) => item.id !== ID.clusterTimestamp).map((item) => source.subarray(item.at, item.end));
      newClusters.push({ bytes: element(ID.cluster, uintElement(ID.clusterTimestamp, time), ...rest), time });
    }
  }

  // Layout in the segment: seek head, info, tracks, tags, clusters, cues.
  const seekEntry = (id: number, position: number): Uint8Array =>
    element(ID.seek, element(ID.seekId, Uint8Array.from(idBytes(id))), uintElement(ID.seekPosition, position));
  const tracksBytes = source.subarray(tracks.at, tracks.end);
  const tagsBytes = tags === undefined ? new Uint8Array(0) : source.subarray(tags.at, tags.end);
  const seekHeadLength = element(ID.seekHead, seekEntry(ID.info, 0), seekEntry(ID.tracks, 0), seekEntry(ID.cues, 0)).length;
  const infoAt = seekHeadLength;
  const tracksAt = infoAt + newInfo.length;
  let offset = tracksAt + tracksBytes.length + tagsBytes.length;
  const cuePoints: Uint8Array[] = [];
  for (const cluster of newClusters) {
    cuePoints.push(
      element(ID.cuePoint, uintElement(ID.cueTime, cluster.time), element(ID.cueTrackPositions, uintElement(ID.cueTrack, videoTrack), uintElement(ID.cueClusterPosition, offset))),
    );
    offset += cluster.bytes.length;
  }
  const cuesAt = offset;
  const seekHead = element(ID.seekHead, seekEntry(ID.info, infoAt), seekEntry(ID.tracks, tracksAt), seekEntry(ID.cues, cuesAt));
  const body = [seekHead, newInfo, tracksBytes, tagsBytes, ...newClusters.map((cluster) => cluster.bytes), element(ID.cues, ...cuePoints)];
  return concat([source.subarray(header.at, header.end), element(ID.segment, ...body)]);
}
