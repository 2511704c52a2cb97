#!/usr/bin/env node
/**
 * The `sluice` command: `serve`, `tail`, `chat`.
 *
 * @module
 */
// `serve` and `chat` are loaded by their command only: they need the optional peer dependencies
// (zod, the SDKs, …), which `sluice tail` does not.
import { runTail } from './tail.ts';

const USAGE = `Usage:
  sluice serve                      serve the app on http://127.0.0.1:3000 (HOST, PORT override)
  sluice tail URL [--json] [--no-reconnect] [-H "Name: value"]... [-X METHOD] [-d BODY]
  sluice chat "question" [--model NAME] [--url URL]
                                    stream an answer to the terminal (SLUICE_MODEL, default local)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { serve, startupLog } = await import('../server/app.ts');
      const { shutdownDeadlineMs, shutdownServer } = await import('../server/shutdown.ts');
      const server = await serve();
      // The first line (`sluice listening on http://HOST:PORT`) is what scripts and tests wait for.
      console.log(startupLog(server).join('\n'));
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          // A second signal: the operator does not want to wait for the drain.
          process.stderr.write(`sluice: ${signal} again, exiting now.\n`);
          process.exit(1);
        }
        stopping = true;
        const deadline = shutdownDeadlineMs(server);
        console.log(`sluice: ${signal}, draining (new streams get 503; running generations have SLUICE_DRAIN_MS to finish)…`);
        // Exit within a bounded time whatever hangs.
        setTimeout(() => {
          process.stderr.write(`sluice: shutdown took over ${deadline} ms, exiting.\n`);
          process.exit(1);
        }, deadline).unref();
        shutdownServer(server).then(
          () => console.log('sluice: stopped.'),
          (error: unknown) => process.stderr.write(`sluice: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return new Promise<number>((resolve) => server.once('close', () => resolve(0)));
    }
    case 'tail': {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      try {
        return await runTail(rest, { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
      } finally {
        process.off('SIGINT', stop);
      }
    }
    case 'chat': {
      const { runChat } = await import('./chat.ts');
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      try {
        return await runChat(rest, { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
      } finally {
        process.off('SIGINT', stop);
      }
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sluice: unknown command "${command}".\n${USAGE}`);
      return 2;
  }
}

// `sluice chat … | head`: a reader that leaves is the end of the output, not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
