/**
 * One entry of the event stream (`<prefix>:events`): an operation's state change, progress
 * or cancel request, or inventory drift. `id` is the Redis stream id; clients resume from it.
 */
export interface EngineEvent {
  id: string;
  kind: string;
  operation_id?: string;
  operation_type?: string;
  workspace?: string;
  from?: string;
  to?: string;
  at: string;
  message?: string;
  /** The trace of the request behind the operation (operation events). */
  trace_id?: string;
  provider?: string;
  [field: string]: string | undefined;
}

export function toEvent(id: string, flat: string[]): EngineEvent {
  const event: EngineEvent = { id, kind: '', at: '' };
  for (let i = 0; i < flat.length; i += 2) {
    const value = flat[i + 1];
    if (value !== undefined && value !== '') event[flat[i]!] = value;
  }
  return event;
}

/** Stream ids are `<ms>-<seq>`; compares them in stream order. */
export function compareEventIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

export function isEventId(value: string): boolean {
  return /^\d{1,20}-\d{1,20}$/.test(value);
}
