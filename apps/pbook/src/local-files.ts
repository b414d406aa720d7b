import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { FileSystem } from './deps.js';

/** This machine's files, as the process reads them (and the tests that read temporary files). */
export const localFiles: FileSystem = { stat, readFile, createReadStream };
