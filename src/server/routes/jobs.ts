/**
 * Long jobs: `POST /v1/jobs` starts a report or an analysis as a run of its own (no connection
 * needed: it goes on whoever follows it) and answers `202 {"id"}`; `GET /v1/jobs/:id/events`
 * follows the job's stream in the native agent SSE, resumable with `Last-Event-ID` like
 * `GET /v1/streams/:id`. A job's events are `progress` (`done` never goes back, ends at `total`),
 * intermediate `data` (and the `source`s a report is written from), then the tool's result as a
 * `data` event named `result` and `finish`, or `error`.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { createEventChannel } from '../../agent/event-channel.ts';
import { runTool } from '../../agent/run-tool.ts';
import { createBuiltinTools } from '../../agent/tools/builtin-tools.ts';
import { DATASETS } from '../../agent/tools/analyze-data.ts';
import type { AnyAgentTool } from '../../agent/types.ts';
import { negotiateAgentFormat } from '../../protocol/negotiate-agent-format.ts';
import type { AgentEvent } from '../../protocol/types.ts';
import { errorEventStatus } from '../error-status.ts';
import { sendJson } from '../http-error.ts';
import { readJson } from '../read-json.ts';
import type { RouteHandler } from '../router.ts';
import { lastEventId, sendStreamHead, shuttingDown, STREAM_ID_HEADER, streamNotFound, type StreamContext, type Streams } from '../runs/stream-context.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** The stream kind of a job (`StreamInfo.kind`): only these are followed at `/v1/jobs/:id/events`. */
export const JOB_STREAM_KIND = 'job';

/** The job kinds and the built-in tool each runs. */
export const JOB_TOOLS = { report: 'generate_report', analysis: 'analyze_data' } as const;

/** The name of the `data` event that carries a job's result, right before `finish`. */
export const JOB_RESULT_DATA = 'result';

/** How long a job may run before it fails with a timeout. */
const JOB_TIMEOUT_MS = 10 * 60_000;

const ReportJob = z.object({
  kind: z.literal('report'),
  topic: z.string().min(1).max(300),
  sections: z.union([z.number().int().min(1).max(8), z.array(z.string().min(1).max(120)).min(1).max(8)]).optional(),
});
const AnalysisJob = z.object({
  kind: z.literal('analysis'),
  dataset: z.enum(DATASETS).optional(),
  question: z.string().max(500).optional(),
});

/** The body of `POST /v1/jobs`. */
export const JobBody = z.discriminatedUnion('kind', [ReportJob, AnalysisJob], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `expected \`kind\` to be "report" (with \`topic\`, \`sections?\`) or "analysis" (with \`dataset?\`, \`question?\`)` : undefined,
});

/** The path a job's events are followed at. */
export function jobEventsPath(id: string): string {
  return `/v1/jobs/${encodeURIComponent(id)}/events`;
}

/**
 * A job's events: the tool's updates as they come (without a `toolCallId`: a job is not a tool
 * call), then its result and `finish`, or an `error` when the tool fails.
 */
function jobSource(tool: AnyAgentTool, input: unknown): (signal: AbortSignal) => AsyncIterable<AgentEvent> {
  return async function* job(signal) {
    const channel = createEventChannel<AgentEvent>();
    const outcome = runTool(tool, {
      toolCallId: 'job',
      input,
      signal,
      timeoutMs: JOB_TIMEOUT_MS,
      emit: (event) => {
        if ('toolCallId' in event) {
          const { toolCallId: _toolCallId, ...rest } = event;
          channel.push(rest as AgentEvent);
        } else channel.push(event);
      },
    }).finally(() => channel.close());
    // Rejections (the run's abort) are rethrown below, after the updates already made are out.
    outcome.catch(() => undefined);
    yield* channel;
    const result = await outcome;
    if (!result.ok) {
      yield { type: 'error', code: 'job_failed', message: result.message, retryable: false };
      return;
    }
    yield { type: 'data', name: JOB_RESULT_DATA, value: result.output };
    yield { type: 'finish', finishReason: 'stop' };
  };
}

/** Builds the job handlers. */
export function jobRoutes(context: StreamContext, tools: readonly AnyAgentTool[]): Record<'create' | 'events' | 'head', RouteHandler> {
  let builtins: AnyAgentTool[] | undefined;
  const find = (name: string): AnyAgentTool => {
    const found = tools.find((tool) => tool.name === name) ?? (builtins ??= createBuiltinTools()).find((tool) => tool.name === name);
    if (found === undefined) throw new TypeError(`No built-in tool named ${name}.`);
    return found;
  };
  /** The job that `owner` may follow from `after` (404 for a stream that is not a job). */
  const findJob = async (streams: Streams, id: string, owner: string | undefined, after: number): Promise<void> => {
    const info = await streams.find(id, owner, after);
    if (info.kind !== JOB_STREAM_KIND) throw streamNotFound(id);
  };
  return {
    async create(req, res, { owner }) {
      const { kind, ...input } = await readJson(req, JobBody);
      const tool = find(JOB_TOOLS[kind]);
      // Validated like the model's calls are, before the job starts (the schemas above match).
      const parsed = tool.parseInput(input);
      const streams = await context.streams();
      const run = await context.quotas.startRun(req, owner, 'jobs', () =>
        streams.start({ kind: JOB_STREAM_KIND, detachable: false, source: jobSource(tool, parsed), owner, meta: { job: kind } }),
      );
      // Nobody follows from here: a job goes on by itself (no detach grace).
      run.release();
      const location = jobEventsPath(run.id);
      sendJson(res, 202, { id: run.id, kind, events: location }, { location });
    },

    async events(req, res, { url, params, owner }) {
      if (context.draining()) throw shuttingDown();
      const id = params.id ?? '';
      const after = lastEventId(req, url);
      const format = negotiateAgentFormat(req.headers.accept, { padding: context.padding, errorStatus: errorEventStatus });
      const streams = await context.streams();
      await findJob(streams, id, owner, after);
      return context.quotas.follow(req, owner, () => streams.follow(res, { id, after, format }));
    },

    /** `HEAD /v1/jobs/:id/events`: the stream's headers (or its 404 or 409), without following it. */
    async head(req, res, { url, params, owner }) {
      const id = params.id ?? '';
      await findJob(await context.streams(), id, owner, lastEventId(req, url));
      sendStreamHead(res, negotiateAgentFormat(req.headers.accept, { padding: context.padding }), { [STREAM_ID_HEADER]: id });
    },
  };
}
