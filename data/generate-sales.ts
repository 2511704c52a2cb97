/**
 * Writes data/sales.csv, the dataset `analyze_data` reads: 4,000 orders of a small hardware and
 * software shop over 2025, with seasonality, regional mixes and discounts. Deterministic (a seeded
 * PRNG), so running it again gives the same bytes:
 *
 *   npx node data/generate-sales.ts
 */
import { writeFileSync } from 'node:fs';
import { createSeededRandom } from '../src/providers/replay/seeded-random.ts';

const next = createSeededRandom(20250101);
const pick = <T>(items: readonly (readonly [T, number])[]): T => {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let r = next() * total;
  for (const [item, weight] of items) {
    r -= weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
};

// [product, category, unit price in cents, popularity]
const PRODUCTS = [
  ['Stream Router S', 'Hardware', 19_900, 6],
  ['Stream Router Pro', 'Hardware', 49_900, 3],
  ['Edge Gateway', 'Hardware', 129_900, 1],
  ['Sensor Kit', 'Hardware', 7_950, 8],
  ['Sluice Cloud Basic', 'Subscription', 2_900, 10],
  ['Sluice Cloud Team', 'Subscription', 9_900, 6],
  ['Sluice Cloud Enterprise', 'Subscription', 49_900, 2],
  ['Onboarding Workshop', 'Services', 150_000, 1],
  ['Support Plan', 'Services', 24_000, 4],
  ['USB-C Cable', 'Accessories', 1_490, 9],
  ['Rack Mount', 'Accessories', 3_900, 4],
] as const;
const REGIONS = [['North America', 34], ['Europe', 28], ['Asia Pacific', 26], ['Latin America', 12]] as const;
const CHANNELS = [['Online', 55], ['Retail', 25], ['Partner', 20]] as const;
// Relative order volume per month: a slow start, a spring launch, a summer dip, a strong Q4.
const MONTHS = [7, 7, 9, 10, 9, 8, 7, 7, 9, 10, 12, 15] as const;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const ROWS = 4000;

const lines = ['order_id,date,region,channel,product,category,units,unit_price,discount,revenue'];
const monthWeights = MONTHS.map((weight, month) => [month, weight] as const);
const dates: string[] = [];
for (let i = 0; i < ROWS; i++) {
  const month = pick(monthWeights);
  const day = 1 + Math.floor(next() * DAYS[month]!);
  dates.push(`2025-${String(month + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`);
}
dates.sort();
dates.forEach((date, i) => {
  const [product, category, price] = PRODUCTS[pick(PRODUCTS.map((p, index) => [index, p[3]] as const))]!;
  const region = pick(REGIONS);
  const channel = pick(CHANNELS);
  const units = category === 'Services' || price > 100_000 ? 1 : 1 + Math.floor(next() ** 2 * (category === 'Accessories' ? 20 : 8));
  const discount = channel === 'Partner' ? 0.15 : next() < 0.2 ? 0.1 : 0;
  const gross = units * price;
  const revenue = Math.round(gross * (1 - discount));
  const money = (cents: number) => (cents / 100).toFixed(2);
  lines.push([`SO-${String(10001 + i)}`, date, region, channel, product, category, units, money(price), discount.toFixed(2), money(revenue)].join(','));
});
writeFileSync(new URL('./sales.csv', import.meta.url), lines.join('\n') + '\n');
console.log(`wrote ${ROWS} orders to data/sales.csv`);
