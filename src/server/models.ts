/**
 * Model names to providers: `local`, `openai:<model>`, `anthropic:<model>`,
 * `openai-compatible:<model>`; `SLUICE_MODEL` is the default.
 *
 * @module
 */
import { createAnthropicProvider } from '../providers/anthropic/create-anthropic-provider.ts';
import { createLocalProvider } from '../providers/local/index.ts';
import { createOpenAICompatibleProvider } from '../providers/openai-compatible/create-openai-compatible-provider.ts';
import { createOpenAIProvider } from '../providers/openai/create-openai-provider.ts';
import { readEnv } from '../providers/shared/env.ts';
import type { Provider } from '../providers/types.ts';
import { HttpError, quote } from './http-error.ts';

/** A model name resolved to its provider. */
export interface ResolvedModel {
  /** The full name (`openai:gpt-4o-mini`). */
  name: string;
  /** The model id within the provider (`gpt-4o-mini`; `local` for the demo model). */
  modelId: string;
  provider: Provider;
}

/** Resolves model names. */
export interface ModelRegistry {
  /** The default model's name. */
  readonly defaultModel: string;
  /**
   * Resolves a name, or the default when none is given.
   * @throws HttpError 400 `unknown_model` with the accepted forms; 400 `model_unavailable` when
   *   the client names a model whose provider this server has no key (or base URL) for
   */
  resolve(name?: string): ResolvedModel;
  /**
   * The variable the default model's provider needs and does not have (`ANTHROPIC_API_KEY`), for
   * the startup lines; undefined when it is configured (or not a built-in provider's).
   */
  readonly defaultModelMissing: string | undefined;
  /** The models worth listing (`GET /v1/models`): the default, `local`, and one per configured key. */
  list(): string[];
}

/** Options of {@link createModelRegistry}. */
export interface ModelRegistryOptions {
  /** @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Providers to use instead of the built-in ones, by prefix (`local`, `openai`, `anthropic`, `openai-compatible`). */
  providers?: Partial<Record<'local' | 'openai' | 'anthropic' | 'openai-compatible', Provider>>;
}

/** What `GET /v1/models` lists when `OPENAI_COMPATIBLE_BASE_URL` is set (unless the default is one already). */
export const OPENAI_COMPATIBLE_EXAMPLE_MODEL = 'openai-compatible:llama3.2';

const PREFIXES = ['openai', 'anthropic', 'openai-compatible'] as const;

/**
 * The variable a built-in provider cannot work without, when it is not set (read as the providers
 * read it), else undefined.
 */
export function missingVariable(prefix: (typeof PREFIXES)[number]): string | undefined {
  if (prefix === 'openai') return readEnv('OPENAI_API_KEY') === undefined ? 'OPENAI_API_KEY' : undefined;
  if (prefix === 'anthropic') return readEnv('ANTHROPIC_API_KEY') === undefined ? 'ANTHROPIC_API_KEY' : undefined;
  return readEnv('OPENAI_COMPATIBLE_BASE_URL') === undefined && readEnv('OPENAI_BASE_URL') === undefined ? 'OPENAI_COMPATIBLE_BASE_URL' : undefined;
}

/**
 * Creates the model registry of the server.
 * @param options - environment and provider overrides
 * @returns the registry
 */
export function createModelRegistry(options: ModelRegistryOptions = {}): ModelRegistry {
  const env = options.env ?? process.env;
  const defaultModel = env.SLUICE_MODEL?.trim() || 'local';
  const providers = new Map<string, Provider>();
  const provider = (prefix: 'local' | (typeof PREFIXES)[number]): Provider => {
    let found = options.providers?.[prefix] ?? providers.get(prefix);
    if (found === undefined) {
      found =
        prefix === 'local'
          ? createLocalProvider()
          : prefix === 'openai'
            ? createOpenAIProvider()
            : prefix === 'anthropic'
              ? createAnthropicProvider()
              : createOpenAICompatibleProvider();
      providers.set(prefix, found);
    }
    return found;
  };

  const defaultPrefix = defaultModel.slice(0, Math.max(0, defaultModel.indexOf(':')));
  const registry: ModelRegistry = {
    defaultModel,
    get defaultModelMissing() {
      if (!(PREFIXES as readonly string[]).includes(defaultPrefix) || options.providers?.[defaultPrefix as (typeof PREFIXES)[number]] !== undefined) return undefined;
      return missingVariable(defaultPrefix as (typeof PREFIXES)[number]);
    },
    resolve(name) {
      const full = name?.trim() || defaultModel;
      if (full === 'local') return { name: full, modelId: 'local', provider: provider('local') };
      const colon = full.indexOf(':');
      const prefix = colon === -1 ? '' : full.slice(0, colon);
      const modelId = colon === -1 ? '' : full.slice(colon + 1);
      if ((PREFIXES as readonly string[]).includes(prefix) && modelId !== '') {
        // A model the client chose whose provider this server is not configured for is the
        // client's mistake (400), not a server fault; the default model misconfigured stays the
        // provider's own error (500 provider_api_key_missing / provider_base_url_missing).
        const missing = full !== defaultModel && options.providers?.[prefix as (typeof PREFIXES)[number]] === undefined ? missingVariable(prefix as (typeof PREFIXES)[number]) : undefined;
        if (missing !== undefined) {
          throw new HttpError(
            400,
            'model_unavailable',
            `Model ${quote(full)} is not available on this server: ${missing} is not set. Available models: ${registry.list().map((m) => quote(m)).join(', ')}.`,
          );
        }
        return { name: full, modelId, provider: provider(prefix as (typeof PREFIXES)[number]) };
      }
      const hint = colon === -1 && full !== '' ? ` Did you mean ${quote(`openai:${full}`)} or ${quote(`anthropic:${full}`)}?` : '';
      throw new HttpError(
        400,
        'unknown_model',
        `Unknown model ${quote(full)}. Models are named "local", "openai:<model>", "anthropic:<model>" or "openai-compatible:<model>".${hint}`,
      );
    },
    list() {
      const names = new Set<string>([defaultModel, 'local']);
      if (env.OPENAI_API_KEY) names.add('openai:gpt-4o-mini');
      if (env.ANTHROPIC_API_KEY) names.add('anthropic:claude-haiku-4-5');
      // An OpenAI-compatible server's models are its own: the example name of an Ollama model.
      if (env.OPENAI_COMPATIBLE_BASE_URL?.trim() && !defaultModel.startsWith('openai-compatible:')) names.add(OPENAI_COMPATIBLE_EXAMPLE_MODEL);
      return [...names];
    },
  };
  return registry;
}
