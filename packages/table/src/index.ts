export { humanSize, relativeTime, secretEntries, truncateValue } from './secrets.js';
export type { SecretEntry } from './secrets.js';
export { renderRows, renderSecrets } from './render.js';
export type { OutputFormat, RenderOptions } from './render.js';
