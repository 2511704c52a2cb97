/**
 * The `calculator` tool: exact arithmetic with a safe parser.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { tool } from '../tool.ts';
import type { AgentTool } from '../types.ts';
import { evaluateExpression, formatRational } from './evaluate-expression.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** What `calculator` returns. */
export interface CalculatorOutput {
  expression: string;
  /** The value in decimal: exact unless `exact` is false (then rounded to 20 places). */
  value: string;
  exact: boolean;
  /** The exact value as a fraction, when its decimal form never ends (`1/3`). */
  fraction?: string;
}

/**
 * Creates the `calculator` tool: `{expression}` with `+ - * / % ^`, parentheses, unary minus and
 * decimals, computed exactly (`0.1 + 0.2` is `0.3`); a mistake fails with its position.
 * @returns the tool
 */
export function createCalculatorTool(): AgentTool<{ expression: string }, CalculatorOutput> {
  return tool({
    name: 'calculator',
    // Idempotent: a pure computation; a run taken over runs it again.
    idempotent: true,
    description:
      'Evaluates an arithmetic expression exactly: + - * / % ^ (power), parentheses, unary minus and decimals, e.g. "17*23" or "(0.1+0.2)*3".',
    input: z.object({ expression: z.string().min(1).max(1000).describe('The arithmetic expression, e.g. "17*23".') }),
    execute({ expression }) {
      const value = evaluateExpression(expression);
      const { text, exact } = formatRational(value);
      return exact ? { expression, value: text, exact } : { expression, value: text, exact, fraction: `${value.n}/${value.d}` };
    },
  });
}
