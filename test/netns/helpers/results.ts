// Figures a namespace test measures: each one printed as a test diagnostic when recorded,
// and kept so the test can write them all to a JSON file at its end.
import type { TestContext } from 'node:test';

export class TestResults {
  readonly values: Record<string, unknown> = {};

  record(t: TestContext, key: string, value: unknown): void {
    this.values[key] = value;
    t.diagnostic(`${key}: ${JSON.stringify(value)}`);
  }
}
