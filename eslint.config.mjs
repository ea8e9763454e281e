// Type-aware lint for the whole project (`npm run check`): the rules that find a dropped promise,
// a dropped Result or an unhandled case, each of which turns into a request nobody answers.
import tseslint from 'typescript-eslint';
import noUnusedResult from './scripts/eslint/no-unused-result.mjs';

export default tseslint.config(
  { ignores: ['scripts/eslint/fixtures/**', 'dist/**', 'node_modules/**', 'bench/results/**', 'data/**', '.ci/reports/**', 'test/system/fixtures/**'] },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.mjs'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: { allowDefaultProject: ['*.mjs', '.ci/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, callqos: { rules: { 'no-unused-result': noUnusedResult } } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      'callqos/no-unused-result': 'error',
    },
  },
);
