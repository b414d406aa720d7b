// Bundles one CLI app (the workspace in the current directory) for start-up speed: src/cli.ts and
// everything it imports, workspace packages and npm dependencies alike, into bundle/ with code
// splitting. Every `await import(...)` in the sources (each command's run module, the client
// package and got, jose, the server's app) becomes a chunk of its own that loads only when that
// code runs, so `--help` loads the parser and the help text and nothing else. New commands need
// nothing here: lazily imported, they get their own chunk.
//
// esbuild splits ESM only; each file is then turned into CommonJS (bundle/cli.cjs,
// bundle/chunks/*.cjs), because Node 20 can keep V8's compiled code of a classic script
// (vm.Script's cachedData) but of no ES module. bundle/start.cjs (scripts/bundle-start.cjs) loads
// them with that code cache; the bin only requires it.
//
// Source maps are written beside the files; the bin turns them on only for --verbose, since
// reading them costs start-up time and only stack traces need them.
//
// Usage (from an app's directory, after tsc): node ../../scripts/bundle.mjs
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { build, transform } from 'esbuild';
import ts from 'typescript';

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

/**
 * got imports http2-wrapper at load time for its `http2` option, which the client never sets; with
 * it come node:http2 and its agent's set-up, 3 to 7 ms of CPU of every command that makes a
 * request. Here its default import becomes a stand-in that requires the package on first use.
 */
const lazyHttp2Wrapper = {
  name: 'lazy-http2-wrapper',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]got[\\/]dist[\\/]source[\\/]core[\\/]options\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "import http2wrapper from 'http2-wrapper';";
      if (!source.includes(eager)) throw new Error(`${args.path} no longer imports http2-wrapper as expected`);
      const lazy = source.replace(
        eager,
        "const http2wrapper = new Proxy({}, { get: (_, key) => require('http2-wrapper')[key] });",
      );
      return { contents: lazy, loader: 'js' };
    });
  },
};

const split = await build({
  entryPoints: { cli: join(process.cwd(), 'src/cli.ts') },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'external',
  write: false,
  // Packages with compiled addons (and their optional native parts) are loaded from node_modules.
  external: ['better-sqlite3', 'pg-native'],
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [lazyListFormat, lazyHttp2Wrapper],
});

/**
 * The entry's top-level await as CommonJS, which has none: its static imports go to the (new)
 * first line and everything else into an async function called at once, which keeps the order
 * (imports first, then the body) and every other line where it was. Blanked imports keep the
 * lines' columns; the source map gains one empty first line.
 */
function withoutTopLevelAwait(code, map, file) {
  const parsed = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const imports = [];
  let body = code;
  for (const statement of parsed.statements) {
    if (ts.isExportDeclaration(statement) || ts.isExportAssignment(statement))
      throw new Error(`${file}: an entry point that exports cannot be wrapped`);
    if (!ts.isImportDeclaration(statement)) continue;
    const start = statement.getStart(parsed);
    imports.push(code.slice(start, statement.end));
    body =
      body.slice(0, start) + body.slice(start, statement.end).replaceAll(/[^\n]/g, ' ') + body.slice(statement.end);
  }
  return {
    code: `${imports.join(' ')} (async () => {\n${body}\n})();\n`,
    map: { ...map, mappings: `;${map.mappings}` },
  };
}

const entry = join(outdir, 'cli.cjs');
const URL_SHIM = 'var __bundleImportMetaUrl = require("node:url").pathToFileURL(__filename).href;';
const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=\S+\s*$/;

/**
 * Built-in modules that cost time to load and that a bundle file may import without the command
 * at hand using them: crypto for `--help`, tls, https and http2 for a plain HTTP call, and so on.
 * A top-level `var import_x = require("node:x")` of one of them becomes a stand-in that requires
 * the module on the first use of one of its exports (the code reads `import_x.name` where it uses
 * the export, so each use goes through the stand-in). Those already loaded when Node.js starts
 * (fs, path, events, util...) stay as they are.
 */
const LAZY_BUILTINS = new Set([
  'assert',
  'child_process',
  'crypto',
  'dns',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'readline',
  'stream',
  'stream/promises',
  'timers/promises',
  'tls',
  'zlib',
]);
const BUILTIN_IMPORT = /^var (import_\w+) = (__toESM\()?require\("((?:node:)?[\w/]+)"\)(?:, 1)?(\))?;$/gm;
const LAZY_BUILTIN_HELPER =
  'var __lazyBuiltin = (id, asDefault) => { let loaded; const load = () => (loaded ??= require(id)); ' +
  'return new Proxy({}, { get: (_, key) => (asDefault && key === "default" ? load() : load()[key]), ' +
  'has: (_, key) => key in load(), ownKeys: () => Reflect.ownKeys(load()), ' +
  'getOwnPropertyDescriptor: (_, key) => { const found = Reflect.getOwnPropertyDescriptor(load(), key); ' +
  'return found && { ...found, configurable: true }; } }); };';

/** `code` with its imports of LAZY_BUILTINS made lazy (the lines keep their places for the source map). */
function withLazyBuiltins(code) {
  return code.replaceAll(BUILTIN_IMPORT, (line, name, toEsm, id, close) =>
    LAZY_BUILTINS.has(id.replace(/^node:/, '')) && (toEsm === undefined) === (close === undefined)
      ? `var ${name} = __lazyBuiltin(${JSON.stringify(id)}, ${toEsm !== undefined});`
      : line,
  );
}

const maps = new Map(split.outputFiles.filter((file) => file.path.endsWith('.map')).map((file) => [file.path, file]));
for (const file of split.outputFiles.filter((output) => output.path.endsWith('.cjs'))) {
  let code = file.text.replace(SOURCE_MAP_COMMENT, '\n');
  let map = JSON.parse(maps.get(`${file.path}.map`).text);
  if (file.path === entry) ({ code, map } = withoutTopLevelAwait(code, map, file.path));
  const usesImportMeta = code.includes('import.meta');
  // esbuild reads the inline map of its input, so the result maps to the TypeScript sources.
  const inlineMap = Buffer.from(JSON.stringify(map)).toString('base64');
  const commonJs = await transform(`${code}\n//# sourceMappingURL=data:application/json;base64,${inlineMap}\n`, {
    sourcefile: basename(file.path),
    loader: 'js',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'external',
    legalComments: 'none',
    // ES modules are strict code; as CommonJS they stay strict.
    banner: `'use strict'; ${LAZY_BUILTIN_HELPER}${usesImportMeta ? ` ${URL_SHIM}` : ''}`,
    // import() of a chunk becomes require(), which the start-up's loader serves from its cache.
    supported: { 'dynamic-import': false },
    define: usesImportMeta ? { 'import.meta.url': '__bundleImportMetaUrl' } : {},
    logLevel: 'warning',
  });
  await mkdir(dirname(file.path), { recursive: true });
  const name = basename(file.path);
  await writeFile(file.path, `${withLazyBuiltins(commonJs.code)}//# sourceMappingURL=${name}.map\n`);
  await writeFile(`${file.path}.map`, commonJs.map);
}
await copyFile(join(import.meta.dirname, 'bundle-start.cjs'), join(outdir, 'start.cjs'));
