import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, ValidationError, type FieldProblem } from '../../common/errors.js';
import type { ServerRecord } from '../servers/inventory.js';

const SERVER_ID = /^srv-[0-9a-f]{12}$/;

/**
 * The servers a request names, by hostname or engine id, all in `workspace` and running.
 * Every problem is reported at once, each naming its entry (`servers[1]`).
 */
export async function resolveServers(ctx: CoreContext, workspace: string, names: readonly string[]): Promise<ServerRecord[]> {
  const inWorkspace = await ctx.inventory.allIn(workspace);
  const problems: FieldProblem[] = [];
  const found: ServerRecord[] = [];
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const field = `servers[${i}]`;
    const matches = inWorkspace.filter((s) => (SERVER_ID.test(name) ? s.id === name : s.hostname === name));
    if (matches.length === 0) return void problems.push({ field, problem: `no server '${name}' in workspace '${workspace}'` });
    if (matches.length > 1) {
      return void problems.push({ field, problem: `'${name}' names ${matches.length} servers (${matches.map((s) => s.id).join(', ')}); name one by its id` });
    }
    const server = matches[0]!;
    if (seen.has(server.id)) return void problems.push({ field, problem: `names server ${server.id} a second time` });
    seen.add(server.id);
    if (server.status !== 'running' || !server.ip_address) {
      return void problems.push({ field, problem: `server '${name}' is ${server.status}${server.ip_address ? '' : ' with no address'}; it must be running` });
    }
    found.push(server);
  });
  if (problems.length > 0) throw new ValidationError(problems);
  return found;
}

/** A server a script is about to run on, as the inventory knows it now. */
export interface ScriptTarget {
  server_id: string;
  hostname: string;
  address: string;
}

/**
 * The servers with these ids as they are now (addresses can change between the request and
 * the run); fails naming the first one that is gone or not running.
 */
export async function currentTargets(ctx: CoreContext, serverIds: readonly string[]): Promise<ScriptTarget[]> {
  const targets: ScriptTarget[] = [];
  for (const id of serverIds) {
    const server = await ctx.inventory.get(id);
    if (!server || server.status === 'gone') throw new EngineError(ErrorCodes.SERVER_NOT_FOUND, `server ${server?.hostname ?? id} (${id}) no longer exists`);
    if (server.status !== 'running' || !server.ip_address) {
      throw new EngineError(ErrorCodes.CONFLICT, `server ${server.hostname} (${id}) is ${server.status}; it must be running`);
    }
    targets.push({ server_id: id, hostname: server.hostname, address: server.ip_address });
  }
  return targets;
}
