/**
 * Means of per-batch values over an epoch, each batch weighted by its number of samples.
 * Updated incrementally (mean += (value − mean)·(w / total)), so one batch, or batches that
 * all give the same value, yield exactly that value.
 */
export class WeightedMeans {
  private readonly current = new Map<string, number>();
  private weight = 0;

  /** Adds one batch's values (e.g. { loss, accuracy }) with `weight` samples. */
  add(values: Readonly<Record<string, number>>, weight: number): void {
    this.weight += weight;
    for (const [key, value] of Object.entries(values)) {
      const mean = this.current.get(key) ?? 0;
      this.current.set(key, mean + (value - mean) * (weight / this.weight));
    }
  }

  /** Samples added so far. */
  get samples(): number {
    return this.weight;
  }

  /** The weighted mean of `key` (NaN before any batch). */
  mean(key: string): number {
    return this.current.get(key) ?? Number.NaN;
  }

  /** The weighted mean of every key except `except`. */
  means(except: string): Record<string, number> {
    return Object.fromEntries([...this.current.entries()].filter(([k]) => k !== except));
  }
}
