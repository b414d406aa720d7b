import type { CommandSpec } from '../spec.js';
import { pandaCall } from './index.js';
import type { PandaCallOptions } from './index.js';

/** PanDA's batch form of the bookkeeping functions: `pbook show [ID]`, `pbook kill ID`, `pbook retry ID`. */
export const taskCallCommands: Array<CommandSpec<PandaCallOptions>> = [
  pandaCall('show', "As PanDA's pbook: list your tasks, or show the task ID with its jobs", '42'),
  pandaCall('kill', "As PanDA's pbook: cancel the task ID", '42'),
  pandaCall('retry', "As PanDA's pbook: queue the task ID's failed and cancelled jobs again", '42'),
];
