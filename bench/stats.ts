/** The median of the finite values, or NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of the values that are not NaN, Infinity counting as the largest; NaN when there are none. */
export function medianWithInfinity(values: readonly number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Busiest worker's share over the idlest's; Infinity when a worker served nothing. */
export function balance(perWorker: Record<string, number>, workers: number): number {
  const counts = Object.values(perWorker);
  while (counts.length < workers) counts.push(0);
  return Math.max(...counts) / Math.min(...counts);
}
