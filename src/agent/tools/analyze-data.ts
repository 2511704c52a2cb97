/**
 * The `analyze_data` tool: reads a bundled CSV as a stream with csv-parse, reports `progress` as it
 * reads and intermediate statistics as `data`, and returns summary statistics.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { sleep } from '../../core/sleep.ts';
import { AgentError } from '../errors.ts';
import { tool } from '../tool.ts';
import type { AgentTool, ToolUpdate } from '../types.ts';

const { parse } = await importOptional('csv-parse', () => import('csv-parse'));
const { z } = await importOptional('zod', () => import('zod'));

/** The folder of the bundled datasets: `data/` at the package root, from `src/…` as from `dist/…`. */
export const BUNDLED_DATA_DIR: URL = new URL('../../../data/', import.meta.url);

/** The datasets `analyze_data` knows, by name. */
export const DATASETS = ['sales'] as const;

/** A dataset name. */
export type DatasetName = (typeof DATASETS)[number];

/** Revenue and orders of one group (a region, a product, a month…). */
export interface GroupTotal {
  name: string;
  orders: number;
  units: number;
  revenue: number;
  /** Share of the total revenue, 0-1. */
  share: number;
}

/** What `analyze_data` returns. */
export interface AnalyzeDataOutput {
  dataset: DatasetName;
  question: string | null;
  rows: number;
  columns: string[];
  dateRange: { from: string; to: string };
  totals: { orders: number; units: number; revenue: number; averageOrderValue: number; discountedOrders: number };
  unitsPerOrder: { min: number; max: number; mean: number; median: number };
  revenueByRegion: GroupTotal[];
  revenueByChannel: GroupTotal[];
  revenueByCategory: GroupTotal[];
  revenueByMonth: GroupTotal[];
  topProducts: GroupTotal[];
  /** The groups the question asks about (`region`, `month`, …), else the overall highlights. */
  highlights: string[];
}

/** Options of {@link createAnalyzeDataTool}. */
export interface AnalyzeDataToolOptions {
  /** Where the CSV files are. @defaultValue {@link BUNDLED_DATA_DIR} */
  dataDir?: URL;
  /**
   * A pause after each progress report, so a demo shows the progress bar move (the bundled file
   * reads in a few milliseconds). `0` reads at full speed.
   * @defaultValue 40
   */
  paceMs?: number;
}

/** Progress is reported this many times over the file. */
const PROGRESS_STEPS = 10;
/** Small reads, so that progress moves in steps a user can see rather than 64 KiB jumps. */
const READ_CHUNK_BYTES = 16 * 1024;
/** Running totals go out as `data` every this many rows. */
const DATA_EVERY_ROWS = 1000;

interface Group {
  orders: number;
  units: number;
  cents: number;
}

function add(groups: Map<string, Group>, key: string, units: number, cents: number): void {
  const group = groups.get(key) ?? { orders: 0, units: 0, cents: 0 };
  group.orders++;
  group.units += units;
  group.cents += cents;
  groups.set(key, group);
}

const money = (cents: number): number => Math.round(cents) / 100;

function totals(groups: Map<string, Group>, allCents: number, order: 'revenue' | 'name'): GroupTotal[] {
  const list = [...groups].map(([name, g]) => ({ name, orders: g.orders, units: g.units, revenue: money(g.cents), share: allCents === 0 ? 0 : Math.round((g.cents / allCents) * 10000) / 10000 }));
  return order === 'name' ? list.sort((a, b) => a.name.localeCompare(b.name)) : list.sort((a, b) => b.revenue - a.revenue || a.name.localeCompare(b.name));
}

/** Cents from a money column ("198.00"), exactly: no float sums. */
function cents(text: string, row: number, column: string): number {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) throw new TypeError(`Row ${row}: expected a money amount in \`${column}\`, got ${JSON.stringify(text)}.`);
  const value = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' ? -value : value;
}

function highlightsFor(question: string | null, output: Omit<AnalyzeDataOutput, 'highlights'>): string[] {
  const q = (question ?? '').toLowerCase();
  const share = (g: GroupTotal | undefined) => (g === undefined ? '' : `${g.name} (${(g.share * 100).toFixed(1)}% of revenue, ${g.revenue.toFixed(2)})`);
  const byMonth = [...output.revenueByMonth].sort((a, b) => b.revenue - a.revenue);
  const all = {
    region: `Top region: ${share(output.revenueByRegion[0])}`,
    channel: `Top channel: ${share(output.revenueByChannel[0])}`,
    category: `Top category: ${share(output.revenueByCategory[0])}`,
    product: `Top product: ${share(output.topProducts[0])}`,
    month: `Best month: ${share(byMonth[0])}; weakest: ${share(byMonth.at(-1))}`,
  };
  const asked = (Object.keys(all) as (keyof typeof all)[]).filter((key) => q.includes(key) || (key === 'month' && /season|trend|time|月/.test(q)) || (key === 'region' && /地区|区域/.test(q)) || (key === 'product' && /产品|商品/.test(q)));
  return (asked.length > 0 ? asked : (['region', 'product', 'month'] as const)).map((key) => all[key]);
}

/**
 * Creates the `analyze_data` tool: `{dataset?, question?}` over a bundled CSV (`sales`, the
 * default: 4,000 orders of 2025). Streams the file through csv-parse, yields `progress` (bytes
 * read of the file's size) and `data` (`running-totals` every 1,000 rows, then one per breakdown),
 * and returns summary statistics with highlights for what the question asks about.
 * @param options - the data folder and the demo pace
 * @returns the tool
 */
export function createAnalyzeDataTool(options: AnalyzeDataToolOptions = {}): AgentTool<{ dataset?: DatasetName | undefined; question?: string | undefined }, AnalyzeDataOutput> {
  const dataDir = options.dataDir ?? BUNDLED_DATA_DIR;
  const paceMs = options.paceMs ?? 40;
  return tool({
    name: 'analyze_data',
    // Idempotent: it reads a bundled CSV and computes statistics; a run taken over runs it again.
    idempotent: true,
    description:
      'Analyzes a bundled CSV dataset ("sales": 4,000 orders of 2025 with region, channel, product, category, units, price, discount, revenue) and returns summary statistics: totals, revenue by region, channel, category and month, top products.',
    input: z.object({
      dataset: z.enum(DATASETS).optional().describe('The dataset (default "sales").'),
      question: z.string().max(500).optional().describe('What to look at, e.g. "which region sells most?".'),
    }),
    async *execute({ dataset = 'sales', question }, { signal }) {
      const file = new URL(`${dataset}.csv`, dataDir);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch (error) {
        throw new AgentError('dataset_unknown', `The dataset \`${dataset}\` is missing (${file.pathname}).`, { cause: error });
      }
      const parser = createReadStream(file, { signal, highWaterMark: READ_CHUNK_BYTES }).pipe(parse({ columns: true, skip_empty_lines: true, trim: true }));
      const byRegion = new Map<string, Group>();
      const byChannel = new Map<string, Group>();
      const byCategory = new Map<string, Group>();
      const byMonth = new Map<string, Group>();
      const byProduct = new Map<string, Group>();
      const unitCounts: number[] = [];
      let columns: string[] = [];
      let rows = 0;
      let allCents = 0;
      let discounted = 0;
      let from = '';
      let to = '';
      let reported = 0;
      const updates: ToolUpdate[] = [];
      yield { type: 'progress', done: 0, total: size, message: `Reading ${dataset}.csv` };
      try {
        for await (const record of parser as AsyncIterable<Record<string, string>>) {
          rows++;
          if (rows === 1) columns = Object.keys(record);
          const units = Number(record['units']);
          if (!Number.isInteger(units) || units < 0) throw new TypeError(`Row ${rows}: expected a whole number of units, got ${JSON.stringify(record['units'])}.`);
          const revenue = cents(record['revenue'] ?? '', rows, 'revenue');
          const date = record['date'] ?? '';
          allCents += revenue;
          unitCounts.push(units);
          if (Number(record['discount']) > 0) discounted++;
          if (from === '' || date < from) from = date;
          if (date > to) to = date;
          add(byRegion, record['region'] ?? '?', units, revenue);
          add(byChannel, record['channel'] ?? '?', units, revenue);
          add(byCategory, record['category'] ?? '?', units, revenue);
          add(byMonth, date.slice(0, 7), units, revenue);
          add(byProduct, record['product'] ?? '?', units, revenue);
          if (rows % DATA_EVERY_ROWS === 0) {
            updates.push({ type: 'data', name: 'running-totals', value: { rows, revenue: money(allCents), throughDate: to } });
          }
          const bytes = (parser as unknown as { info: { bytes: number } }).info.bytes;
          if (bytes >= ((reported + 1) * size) / PROGRESS_STEPS) {
            reported = Math.floor((bytes * PROGRESS_STEPS) / size);
            // The parser reads ahead of the rows handed out: `total` is reported only once every
            // row is counted (after the loop), so a progress bar never shows 100 % early.
            updates.push({ type: 'progress', done: Math.min(bytes, size - 1), total: size, message: `Read ${rows} ${rows === 1 ? 'row' : 'rows'}` });
          }
          if (updates.length > 0) {
            yield* updates.splice(0);
            if (paceMs > 0) await sleep(paceMs, signal);
          }
        }
      } finally {
        parser.destroy();
      }
      yield { type: 'progress', done: size, total: size, message: `Read ${rows} rows` };
      unitCounts.sort((a, b) => a - b);
      const mid = unitCounts.length >> 1;
      const median = unitCounts.length === 0 ? 0 : unitCounts.length % 2 === 1 ? (unitCounts[mid] as number) : ((unitCounts[mid - 1] as number) + (unitCounts[mid] as number)) / 2;
      const units = unitCounts.reduce((sum, n) => sum + n, 0);
      const base = {
        dataset,
        question: question ?? null,
        rows,
        columns,
        dateRange: { from, to },
        totals: { orders: rows, units, revenue: money(allCents), averageOrderValue: rows === 0 ? 0 : money(allCents / rows), discountedOrders: discounted },
        unitsPerOrder: { min: unitCounts[0] ?? 0, max: unitCounts.at(-1) ?? 0, mean: rows === 0 ? 0 : Math.round((units / rows) * 100) / 100, median },
        revenueByRegion: totals(byRegion, allCents, 'revenue'),
        revenueByChannel: totals(byChannel, allCents, 'revenue'),
        revenueByCategory: totals(byCategory, allCents, 'revenue'),
        revenueByMonth: totals(byMonth, allCents, 'name'),
        topProducts: totals(byProduct, allCents, 'revenue').slice(0, 5),
      };
      for (const name of ['revenueByRegion', 'revenueByChannel', 'revenueByCategory', 'revenueByMonth', 'topProducts'] as const) {
        yield { type: 'data', name, value: base[name] };
      }
      return { ...base, highlights: highlightsFor(question ?? null, base) };
    },
  });
}
