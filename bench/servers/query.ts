/** Query parsing shared by the bench servers: `n`, `size`, `interval` with defaults. */
export function benchQuery(url: string | undefined): { path: string; n: number; size: number; interval: number } {
  const parsed = new URL(url ?? '/', 'http://localhost');
  const number = (name: string, fallback: number): number => {
    const value = Number(parsed.searchParams.get(name) ?? fallback);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return { path: parsed.pathname, n: number('n', 1000), size: number('size', 16), interval: number('interval', 0) };
}

/** A token of `size` bytes (ASCII letters), like a model's text delta. */
export function token(size: number): string {
  let out = '';
  for (let i = 0; i < size; i++) out += String.fromCharCode(97 + (i % 26));
  return out;
}
