import type { TaskservDefinition } from './definition.js';
import { containerd } from './services/containerd.js';
import { docker } from './services/docker.js';
import { hello } from './services/hello.js';
import { kubernetes } from './services/kubernetes.js';
import { nginx } from './services/nginx.js';
import { postgres } from './services/postgres.js';

/** Every service the engine can install; adding one means adding its module here. */
const SERVICES: readonly TaskservDefinition[] = [kubernetes, containerd, docker, postgres, nginx, hello];

const BY_NAME = new Map(SERVICES.map((s) => [s.name, s]));

export const TASKSERV_NAMES: readonly string[] = SERVICES.map((s) => s.name);

export function findTaskserv(name: string): TaskservDefinition | undefined {
  return BY_NAME.get(name);
}

/** What `GET /v1/taskservs/catalog` shows of each service. */
export function catalogEntries() {
  return SERVICES.map((s) => ({ name: s.name, description: s.description, version: s.version, parameters: s.parameters }));
}
