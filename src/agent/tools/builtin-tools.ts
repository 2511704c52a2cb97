/**
 * The built-in tools, together.
 *
 * @module
 */
import type { BundledDoc } from '../../providers/local/bundled-docs.ts';
import type { AnyAgentTool } from '../types.ts';
import { createAnalyzeDataTool } from './analyze-data.ts';
import { createCalculatorTool } from './calculator.ts';
import { createGenerateReportTool } from './generate-report.ts';
import { createSearchDocsTool } from './search-docs-tool.ts';

/** Options of {@link createBuiltinTools}. */
export interface BuiltinToolsOptions {
  /** The docs `search_docs` and `generate_report` use. @defaultValue the bundled docs (`knowledge/`) */
  docs?: readonly BundledDoc[];
  /** Where `analyze_data` finds its CSV files. @defaultValue the bundled `data/` */
  dataDir?: URL;
  /**
   * Demo pacing of the long tools: `analyze_data` pauses this long after each progress report,
   * `generate_report` before each section. `0` runs them at full speed.
   * @defaultValue 40 for analyze_data, 150 for generate_report
   */
  paceMs?: number;
}

/**
 * Creates the built-in tools: `search_docs`, `calculator`, `analyze_data`, `generate_report`
 * (names and inputs fixed by DESIGN.md).
 * @param options - docs, data folder, pacing
 * @returns the tools, for `runAgent({ tools })`
 * @example
 * ```ts
 * runAgent({ provider, model, messages, tools: createBuiltinTools({ paceMs: 0 }) });
 * ```
 */
export function createBuiltinTools(options: BuiltinToolsOptions = {}): AnyAgentTool[] {
  const docs = options.docs === undefined ? {} : { docs: options.docs };
  const pace = options.paceMs === undefined ? {} : { paceMs: options.paceMs };
  return [
    createSearchDocsTool(docs),
    createCalculatorTool(),
    createAnalyzeDataTool({ ...pace, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) }),
    createGenerateReportTool({ ...docs, ...pace }),
  ];
}

/** The built-in tools with their defaults. */
export const builtinTools: readonly AnyAgentTool[] = createBuiltinTools();
