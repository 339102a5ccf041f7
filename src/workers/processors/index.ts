import type { OperationType, WorkflowOperationType } from '../../core/operations/model.js';
import type { Processor } from '../run-operation.js';
import { serverAction } from './server-action.js';
import { serverCreate } from './server-create.js';
import { serverDelete } from './server-delete.js';
import { serverResize } from './server-resize.js';
import { taskservCreate } from './taskserv-create.js';
import { taskservDelete } from './taskserv-delete.js';

// Workflows are advanced by the workflow worker, not by a processor.
export const processors: Record<Exclude<OperationType, WorkflowOperationType>, Processor> = {
  'server.create': serverCreate,
  'server.delete': serverDelete,
  'server.action': serverAction,
  'server.resize': serverResize,
  'taskserv.create': taskservCreate,
  'taskserv.delete': taskservDelete,
};
