export { humanSize, relativeTime, secretEntries, truncateValue } from './secret-entries.js';
export type { SecretEntry } from './secret-entries.js';
export { renderRows, renderSecrets } from './render.js';
export type { OutputFormat, RenderOptions } from './render.js';
