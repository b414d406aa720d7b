'use strict';
// Starts a CLI from its bundle (bundle/cli.cjs and bundle/chunks/*.cjs, made by scripts/bundle.mjs,
// which copies this file to bundle/start.cjs) with a V8 code cache: compiling the bundle (yargs,
// got and the rest) is a large part of a short command's time, and Node 20 keeps compiled code of
// no module, only of a vm.Script given `cachedData`. Each bundle file is run as such a script
// and, where it had no usable cache, its code (with every function the run compiled) is saved when
// the process exits, so the next run skips compiling it.
//
// A code cache runs as code, so only the user's own private files are used: the directory
// $XDG_CACHE_HOME/panda-secrets/code-cache/<bundle> (~/.cache/... without XDG_CACHE_HOME) must be
// a real directory (no symbolic link) owned by the user and writable by nobody else, and each
// cache file a regular file, opened without following links, owned by the user and writable by
// nobody else; it is written 0600 beside its final name and renamed into place. A cache file
// names the Node.js, V8 and bundle file it was made for (device, inode, size, modification and
// change times), so a rebuilt bundle or another Node.js ignores it, and V8 refuses data that does
// not fit. Anything wrong with the cache only costs the compile: the command runs the same.
//
// With --verbose (or -v) the bundle is loaded by Node's own require with source maps on, so stack
// traces point at the TypeScript sources; Node.js versions with module.enableCompileCache (22.1+)
// use that, in the same private directory. NODE_DISABLE_COMPILE_CACHE=1 turns the cache off, as it
// does Node's own; NODE_DEBUG=panda_code_cache reports what the cache did.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const debug = require('node:util').debuglog('panda_code_cache');
const MAGIC = 'panda-secrets code cache 1';

/** This process' private cache directory for the bundle in `bundleDir`, created if missing; else undefined. */
function privateCacheDir(bundleDir) {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  // As the XDG base directory specification says: a relative XDG_CACHE_HOME is ignored.
  const xdg = process.env.XDG_CACHE_HOME;
  const root =
    xdg && path.isAbsolute(xdg) ? xdg : path.join(process.env.HOME || require('node:os').homedir(), '.cache');
  if (!path.isAbsolute(root)) return undefined;
  // One directory per installed bundle, named after its app and path (FNV-1a of the path).
  let hash = 0x811c9dc5;
  for (let index = 0; index < bundleDir.length; index += 1)
    hash = Math.imul(hash ^ bundleDir.charCodeAt(index), 0x01000193) >>> 0;
  const app = path.basename(path.dirname(bundleDir)).replace(/[^\w.-]/g, '_');
  const dir = path.join(root, 'panda-secrets', 'code-cache', `${app}-${hash.toString(16).padStart(8, '0')}`);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    if (stat.isDirectory() && stat.uid === uid && (stat.mode & 0o022) === 0) return dir;
    debug('%s refused: not a directory of uid %d writable by it alone', dir, uid);
  } catch (error) {
    debug('%s unusable: %s', dir, error.message);
  }
  return undefined;
}

/** What a cache file must name to be used for a bundle file: Node.js, V8 and the file itself. */
function cacheKey(stat) {
  const file = [stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs].join(':');
  return `${MAGIC} ${process.version} ${process.arch} ${process.versions.v8} ${file}\n`;
}

/** The bytes of a file that is the user's own and private (a regular file no one else can write), else undefined. */
function readPrivate(file) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    if (error.code !== 'ENOENT') debug('%s unusable: %s', file, error.message);
    return undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) {
      debug('%s refused: not a regular file of uid %d writable by it alone', file, process.getuid());
      return undefined;
    }
    const data = Buffer.allocUnsafe(stat.size);
    let read = 0;
    while (read < data.length) {
      const count = fs.readSync(fd, data, read, data.length - read, read);
      if (count === 0) break;
      read += count;
    }
    return data.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/** The V8 data of a cache file, if it is the user's own, private, and made for `key`. */
function readCache(cacheFile, key) {
  const data = readPrivate(cacheFile);
  if (data === undefined) return undefined;
  const keyLength = Buffer.byteLength(key);
  if (data.length <= keyLength || data.toString('latin1', 0, keyLength) !== key) return undefined;
  return data.subarray(keyLength);
}

/** Writes `data()` to `file`: a new 0600 file beside it, renamed over it (a link there is replaced, never followed). */
function writePrivate(file, data) {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    const bytes = data();
    const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
    debug('%s written', file);
  } catch (error) {
    debug('%s not written: %s', file, error.message);
    fs.rmSync(temporary, { force: true });
  }
}

/** Writes a script's code to its cache file. */
function writeCache(cacheFile, key, script) {
  writePrivate(cacheFile, () => Buffer.concat([Buffer.from(key, 'latin1'), script.createCachedData()]));
}

/** The file of a cache directory that names the bundle directory it serves. */
const BUNDLE_RECORD = 'bundle';
/** A cache directory that names no bundle (one made before the record was) is removed once unused this long. */
const UNRECORDED_MS = 30 * 24 * 3_600_000;

/**
 * Removes the cache directories of bundles that are gone (a checkout or an install removed since),
 * which nothing would ever use again: each directory names its bundle in a record, written here
 * for this one. Only the user's own directories are looked at, and none through a link.
 */
function pruneGoneBundles(cacheDir, bundleDir) {
  const record = path.join(cacheDir, BUNDLE_RECORD);
  if (readPrivate(record)?.toString('utf8') !== bundleDir) writePrivate(record, () => Buffer.from(bundleDir, 'utf8'));
  const root = path.dirname(cacheDir);
  const uid = process.getuid();
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    if (dir === cacheDir) continue;
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== uid) continue;
    const recorded = readPrivate(path.join(dir, BUNDLE_RECORD))?.toString('utf8');
    const gone =
      recorded !== undefined && path.isAbsolute(recorded)
        ? !fs.existsSync(path.join(recorded, 'cli.cjs'))
        : stat.mtimeMs < Date.now() - UNRECORDED_MS;
    if (!gone) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    debug('%s removed: its bundle %s is gone', dir, recorded ?? '(not recorded)');
  }
}

/**
 * Removes the cache files of bundle files that are gone (an earlier build's chunks), and files
 * that a process which died while writing left behind (another may be writing its own right now).
 */
function pruneCache(cacheDir, bundleDir) {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of fs.readdirSync(cacheDir)) {
    const file = path.join(cacheDir, name);
    if (name.endsWith('.cache')) {
      const source = name.slice(0, -'.cache'.length);
      if (!fs.existsSync(path.join(bundleDir, source)) && !fs.existsSync(path.join(bundleDir, 'chunks', source)))
        fs.rmSync(file, { force: true });
    } else if (name.endsWith('.tmp') && fs.lstatSync(file).mtimeMs < hourAgo) {
      fs.rmSync(file, { force: true });
    }
  }
}

/** Runs bundle/cli.cjs, compiling each bundle file as a vm.Script with its cache from `cacheDir`. */
function runCached(bundleDir, cacheDir) {
  const modules = new Map();
  /** Scripts that ran without a usable cache: their code is saved at exit. */
  const unsaved = [];

  const load = (file) => {
    const known = modules.get(file);
    if (known !== undefined) return known.exports;
    const module = { id: file, filename: file, exports: {}, loaded: false };
    modules.set(file, module);
    const fd = fs.openSync(file, 'r');
    let source;
    let stat;
    try {
      stat = fs.fstatSync(fd);
      source = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
    const key = cacheKey(stat);
    const cacheFile = path.join(cacheDir, `${path.basename(file)}.cache`);
    const cachedData = readCache(cacheFile, key);
    const script = new vm.Script(Module.wrap(source), {
      filename: file,
      ...(cachedData === undefined ? {} : { cachedData }),
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected) {
      if (cachedData !== undefined) debug('%s rejected by V8', cacheFile);
      unsaved.push({ script, cacheFile, key });
    } else debug('%s used', cacheFile);
    const fallback = Module.createRequire(file);
    const requireHere = (id) =>
      id.startsWith('./') || id.startsWith('../') ? load(path.resolve(file, '..', id)) : fallback(id);
    requireHere.resolve = fallback.resolve;
    try {
      script.runInThisContext().call(module.exports, module.exports, requireHere, module, file, path.dirname(file));
    } catch (error) {
      modules.delete(file);
      throw error;
    }
    module.loaded = true;
    return module.exports;
  };

  process.once('exit', () => {
    if (unsaved.length === 0) return;
    for (const { script, cacheFile, key } of unsaved) writeCache(cacheFile, key, script);
    try {
      pruneCache(cacheDir, bundleDir);
      pruneGoneBundles(cacheDir, bundleDir);
    } catch (error) {
      debug('%s not pruned: %s', cacheDir, error.message);
    }
  });
  load(path.join(bundleDir, 'cli.cjs'));
}

/** Modules through which code reaches TLS; requiring any of them first adds the deferred certificates. */
const TLS_MODULES = new Set(['tls', 'node:tls', 'https', 'node:https', 'http2', 'node:http2']);

/**
 * NODE_EXTRA_CA_CERTS, deferred: the bin's sh line moved it to PANDA_SECRETS_EXTRA_CA_CERTS, so
 * Node.js did not read the file at start-up (about 35 ms for a system bundle of 140 certificates).
 * This puts the variable back for child processes and, just before this process first requires a
 * module that makes TLS connections (or calls fetch), makes every TLS context without its own `ca`
 * trust the file's certificates besides Node's, as Node.js would have: the same certificates, for
 * the same connections, read once when first needed. A file that cannot be read is reported as
 * Node.js reports it and ignored, as Node.js ignores it.
 */
function deferExtraCaCerts() {
  const file = process.env.PANDA_SECRETS_EXTRA_CA_CERTS;
  if (file === undefined) return;
  delete process.env.PANDA_SECRETS_EXTRA_CA_CERTS;
  // Set at start-up as well, Node.js has read it already: nothing is deferred.
  if (file === '' || process.env.NODE_EXTRA_CA_CERTS !== undefined) return;
  process.env.NODE_EXTRA_CA_CERTS = file;

  const plainRequire = Module.prototype.require;
  const plainFetch = globalThis.fetch;
  let trusted = false;
  const trustExtraCertificates = () => {
    if (trusted) return;
    trusted = true;
    Module.prototype.require = plainRequire;
    if (plainFetch !== undefined) globalThis.fetch = plainFetch;
    const tls = plainRequire.call(module, 'node:tls');
    const createSecureContext = tls.createSecureContext;
    let certificates;
    tls.createSecureContext = function createSecureContextWithExtraCertificates(options, ...rest) {
      const context = createSecureContext.call(this, options, ...rest);
      if (!options?.ca) {
        if (certificates === undefined) {
          try {
            certificates = fs.readFileSync(file);
          } catch (error) {
            certificates = null;
            process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${error.message}`);
          }
        }
        if (certificates !== null) context.context.addCACert(certificates);
      }
      return context;
    };
  };
  Module.prototype.require = function require(id, ...rest) {
    if (TLS_MODULES.has(id)) trustExtraCertificates();
    return plainRequire.call(this, id, ...rest);
  };
  if (plainFetch !== undefined)
    globalThis.fetch = function fetch(...args) {
      trustExtraCertificates();
      return plainFetch.apply(this, args);
    };
}

function start(bundleDir) {
  deferExtraCaCerts();
  const entry = path.join(bundleDir, 'cli.cjs');
  const verbose = process.argv.some((arg) => arg === '--verbose' || arg === '-v');
  if (verbose) process.setSourceMapsEnabled(true);
  // vm.Script's code has no source maps in Node 20: when they are on, Node's require loads the bundle.
  const cached = !verbose && !process.sourceMapsEnabled && !process.env.NODE_DISABLE_COMPILE_CACHE;
  const cacheDir = cached ? privateCacheDir(bundleDir) : undefined;
  if (cacheDir === undefined) {
    require(entry);
  } else if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(cacheDir);
    require(entry);
  } else {
    runCached(bundleDir, cacheDir);
  }
}

start(__dirname);
