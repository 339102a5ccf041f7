import { shQuote } from '../ssh/shell-quote.js';

/** A JSON Schema object, as ajv takes it. */
export type JsonSchema = Record<string, unknown>;

/**
 * One installable service: its parameters as JSON Schema (every one with a default, so `{}`
 * is a valid config) and the two scripts rendered from a validated config. Scripts are bash,
 * stop at the first failing command, and are idempotent: running one twice leaves the server
 * as running it once does, so a re-run after a crash or a retry is harmless.
 */
export interface TaskservDefinition<C = Record<string, unknown>> {
  name: string;
  description: string;
  /** The version installed when the config names none. */
  version: string;
  /** `{type: 'object', properties: {version, …}}`; unknown properties are refused. */
  parameters: JsonSchema;
  install(config: C): string;
  remove(config: C): string;
}

/** Erases a service's config type so all of them fit one catalogue. */
export function defineTaskserv<C extends { version: string }>(def: TaskservDefinition<C>): TaskservDefinition {
  return def as unknown as TaskservDefinition;
}

/** A whole script: the strict prologue every catalogue script starts with, then `lines`. */
export function bashScript(title: string, lines: string[]): string {
  return ['#!/usr/bin/env bash', `# ${title}`, 'set -euo pipefail', 'export DEBIAN_FRONTEND=noninteractive', ...lines, ''].join('\n');
}

/** A line of progress the operation's log will show. */
export function say(text: string): string {
  return `echo ${shQuote(text)}`;
}

/** Writes `lines` to `path` exactly (each value quoted, never interpreted by the shell). */
export function writeFile(path: string, lines: string[]): string {
  return `printf '%s\\n' ${lines.map(shQuote).join(' ')} > ${shQuote(path)}`;
}

/** Makes sure the script runs where it can: a Debian or Ubuntu server. */
export const REQUIRE_APT = `command -v apt-get >/dev/null || { echo 'this service needs a Debian or Ubuntu server (apt-get)' >&2; exit 1; }`;

export function aptInstall(packages: string[]): string[] {
  return ['apt-get update -qq', `apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`];
}

/**
 * Sets shell variable `variable` to the full package version of `pkg` that starts with
 * `version` (e.g. 1.28.0 → 1.28.0-1.1), failing clearly when the repository has none.
 */
export function resolvePackageVersion(variable: string, pkg: string, version: string, epoch = ''): string[] {
  return [
    `${variable}="$(apt-cache madison ${pkg} | awk -v v=${shQuote(`${epoch}${version}-`)} 'index($3, v) == 1 {print $3; exit}')"`,
    `[ -n "$${variable}" ] || { echo ${shQuote(`${pkg} ${version} is not available from the configured repository`)} >&2; exit 1; }`,
  ];
}

export { shQuote };
