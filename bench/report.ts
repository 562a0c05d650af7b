/**
 * How every benchmark suite reports: a readable table on stdout, then, as the very last line, one JSON
 * object with the suite's summary (machine-readable; CI and the issue notes quote it).
 */
export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The target from the issue, when there is one, e.g. ">= 1000000". */
  readonly target?: string;
}

export interface BenchResult {
  readonly rows: readonly BenchRow[];
  /** Flat JSON summary; must include `suite`. */
  readonly summary: Readonly<Record<string, unknown>> & { readonly suite: string };
}

export function printResult(result: BenchResult): void {
  const width = Math.max(...result.rows.map((row) => row.name.length), 4);
  process.stdout.write(`\n${'measure'.padEnd(width)}  ${'value'.padStart(14)}  unit         target\n`);
  for (const row of result.rows) {
    const value = Number.isInteger(row.value) ? row.value.toLocaleString('en-US') : row.value.toFixed(2);
    process.stdout.write(`${row.name.padEnd(width)}  ${value.padStart(14)}  ${row.unit.padEnd(11)}  ${row.target ?? ''}\n`);
  }
  process.stdout.write(`${JSON.stringify(result.summary)}\n`);
}

/** Median of a sample (the array is sorted in place). */
export function median(samples: number[]): number {
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}
