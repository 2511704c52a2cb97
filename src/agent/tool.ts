/**
 * Defines a tool from a zod schema: the JSON Schema the model sees and the validation of what
 * it sends come from one declaration.
 *
 * @module
 */
import type { output as ZodOutput, ZodType } from 'zod';
import { importOptional } from '../core/require-optional.ts';
import type { AgentTool, ToolContext, ToolExecuteResult } from './types.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** Options of {@link tool}. */
export interface ToolOptions<Schema extends ZodType, Output> {
  name: string;
  description: string;
  /** The input's schema; its JSON Schema is offered to the model, and the model's input is checked against it. */
  input: Schema;
  /**
   * Whether a person must approve each call before it runs (`true`, or a function of the validated input).
   * @defaultValue false
   */
  needsApproval?: boolean | ((input: ZodOutput<Schema>) => boolean | Promise<boolean>);
  /** Whether it may run again after a takeover (see {@link AgentTool.idempotent}). @defaultValue false */
  idempotent?: boolean;
  execute(input: ZodOutput<Schema>, context: ToolContext): ToolExecuteResult<Output>;
}

/** Tool names as the OpenAI and Anthropic APIs accept them. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Defines an {@link AgentTool} from a zod schema.
 * @param options - name, description, input schema and `execute`
 * @returns the tool
 * @throws TypeError when the name is not 1-64 letters, digits, `_` or `-`
 * @example
 * ```ts
 * const echo = tool({
 *   name: 'echo',
 *   description: 'Repeats the text.',
 *   input: z.object({ text: z.string() }),
 *   async *execute({ text }) {
 *     yield { type: 'progress', done: 1, total: 1 };
 *     return text;
 *   },
 * });
 * ```
 */
export function tool<Schema extends ZodType, Output>(options: ToolOptions<Schema, Output>): AgentTool<ZodOutput<Schema>, Output> {
  if (!TOOL_NAME.test(options.name)) {
    throw new TypeError(`Expected a tool name of 1-64 letters, digits, \`_\` or \`-\`, got ${JSON.stringify(options.name)}.`);
  }
  const { $schema: _drop, ...inputSchema } = z.toJSONSchema(options.input, { io: 'input' }) as Record<string, unknown>;
  return {
    name: options.name,
    description: options.description,
    inputSchema,
    parseInput(input) {
      const result = options.input.safeParse(input);
      if (result.success) return result.data;
      const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'input'}: ${issue.message}`);
      throw new TypeError(`Invalid input for \`${options.name}\`: ${problems.join('; ')}.`);
    },
    execute: options.execute,
    ...(options.needsApproval === undefined ? {} : { needsApproval: options.needsApproval }),
    ...(options.idempotent === undefined ? {} : { idempotent: options.idempotent }),
  };
}
