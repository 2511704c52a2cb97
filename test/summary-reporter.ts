/**
 * A Vitest reporter that ends the run with one plain line, `N passed, N failed, N skipped`, which
 * CI reads as the run's result.
 *
 * @module
 */
import type { Reporter, TestModule } from 'vitest/node';

/** Prints `N passed, N failed, N skipped` when the run ends. */
export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else if (state === 'skipped') skipped++;
      }
      if (module.state() === 'failed' && module.children.size === 0) failed++;
    }
    console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
