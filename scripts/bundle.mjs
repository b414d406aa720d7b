// Bundles one CLI app (the workspace in the current directory) for start-up speed: src/cli.ts and
// everything it imports, workspace packages and npm dependencies alike, into bundle/ as ESM with
// code splitting. Every `await import(...)` in the sources (each command's run module, the client
// package and got, jose, the server's app) becomes a chunk of its own that loads only when that
// code runs, so `--help` loads the parser and the help text and nothing else. New commands need
// nothing here: lazily imported, they get their own chunk.
//
// Source maps are written beside the chunks; the bin turns them on only for --verbose, since
// reading them costs start-up time and only stack traces need them.
//
// Usage (from an app's directory, after tsc): node ../../scripts/bundle.mjs
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const outdir = join(process.cwd(), 'bundle');
await rm(outdir, { recursive: true, force: true });

/**
 * got's dependency @sindresorhus/is builds two Intl.ListFormat objects at load time, for error
 * messages only; loading ICU's list data costs tens of milliseconds of every command that loads
 * got. This makes each one on its first use instead, with the same arguments.
 */
const lazyListFormat = {
  name: 'lazy-intl-list-format',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]@sindresorhus[\\/]is[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const lazy = source.replaceAll(
        /new Intl\.ListFormat\(([^)]*)\)/g,
        '((...options) => { let formatter; return { format: (list) => (formatter ??= new Intl.ListFormat(...options)).format(list) }; })($1)',
      );
      return { contents: lazy, loader: 'js' };
    });
  },
};

await build({
  entryPoints: { cli: join(process.cwd(), 'src/cli.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Packages with compiled addons (and their optional native parts) are loaded from node_modules.
  external: ['better-sqlite3', 'pg-native'],
  // CommonJS dependencies bundled into ESM still call require (got requires http2).
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [lazyListFormat],
});
