import { parseWireKey } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';
import { importEntries } from './entries.js';
import type { ImportOptions } from './index.js';

/** A backup holds at most a user's quota: 50 MB, as base64 and JSON somewhat more. */
const MAX_IMPORT_FILE_BYTES = 200 * 1000 * 1000;

/**
 * Reads, checks and imports a file of secrets: with --dry-run, lists on stdout what would be
 * added (`+ NAME`), changed (`~ NAME`) or left as it is (`= NAME`), and changes nothing;
 * otherwise sends all of them in one request, which the server applies all or none.
 */
export async function runImport(deps: Deps, global: GlobalOptions, options: ImportOptions): Promise<void> {
  const actions = new SecretActions(deps, global);
  const bytes = await actions.readLocalFile(options.file, (size) => {
    if (size > MAX_IMPORT_FILE_BYTES) throw new Error(`over ${MAX_IMPORT_FILE_BYTES} bytes`);
  });
  const entries = importEntries(Buffer.from(bytes).toString('utf8'), options.file, options.format);
  const client = await deps.client();
  if (options.dryRun) {
    const current = await client.getSecrets(entries.map((entry) => entry.key));
    const lines = entries.map(({ key, value }) => {
      const mark = !Object.hasOwn(current, key) ? '+' : current[key] === value ? '=' : '~';
      const { kind, name } = parseWireKey(key);
      return `${mark} ${name}${kind === 'file' ? ' (file)' : ''}\n`;
    });
    deps.stdout.write(lines.join(''));
    const count = (mark: string) => lines.filter((line) => line.startsWith(mark)).length;
    deps.stderr.write(
      `dry run: ${count('+')} to add, ${count('~')} to change, ${count('=')} unchanged; nothing was changed\n`,
    );
    return;
  }
  const { created, replaced } = await client.importSecrets(entries);
  deps.stderr.write(
    `imported ${entries.length} secrets from ${options.file} (${created} added, ${replaced} replaced)\n`,
  );
}
