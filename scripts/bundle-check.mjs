// Finds references to Node built-in modules in a bundle meant for QuickJS.
import { builtinModules } from 'node:module';

const names = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/** Module specifiers in import/export/require/import() that name a Node built-in. */
export function findNodeBuiltinReferences(code) {
  const found = new Set();
  const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;
  for (const match of code.matchAll(specifier)) {
    const name = match[1];
    if (name.startsWith('node:') || (names.has(name) && name !== 'os')) found.add(name);
  }
  if (/\brequire\s*\(/.test(code)) found.add('require()');
  if (/\bprocess\.(?:env|argv|exit|stdout|stderr|on)\b/.test(code)) found.add('process global');
  if (/\bBuffer\.(?:from|alloc|concat|isBuffer)\b/.test(code)) found.add('Buffer global');
  return [...found].sort();
}
