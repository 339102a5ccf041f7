/**
 * What the API asks the start command (src/main.ts) over its IPC channel when an operator stops
 * the instance over the API: the start command stops the tree it runs and restarts nothing.
 */
export const STOP_GRACEFULLY = 'engine:shutdown';
export const STOP_NOW = 'engine:emergency-stop';

export interface StopMessage {
  type: typeof STOP_GRACEFULLY | typeof STOP_NOW;
  reason?: string;
}

export function isStopMessage(message: unknown): message is StopMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === STOP_GRACEFULLY || type === STOP_NOW;
}
