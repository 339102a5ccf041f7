import type { OperationType } from '../../core/operations/model.js';
import type { Processor } from '../run-operation.js';
import { serverAction } from './server-action.js';
import { serverCreate } from './server-create.js';
import { serverDelete } from './server-delete.js';
import { serverResize } from './server-resize.js';

export const processors: Record<OperationType, Processor> = {
  'server.create': serverCreate,
  'server.delete': serverDelete,
  'server.action': serverAction,
  'server.resize': serverResize,
};
