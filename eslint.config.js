// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'web/dist/**', 'examples/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // Layering: nothing in core/, sse/ or protocol/ may import Node-only modules, except the Node adapter.
    files: ['src/core/**/*.ts', 'src/sse/**/*.ts', 'src/protocol/**/*.ts'],
    ignores: ['src/core/node/**', '**/*.test.ts', '**/*.node.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'core/, sse/ and protocol/ run on Web Streams only; Node code belongs in src/core/node/.' }] }],
    },
  },
);
