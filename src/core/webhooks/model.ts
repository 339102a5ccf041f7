/** What a webhook may subscribe to: operation state changes, finished workflows, inventory drift. */
export const WEBHOOK_EVENT_TYPES = [
  'operation.pending',
  'operation.running',
  'operation.completed',
  'operation.failed',
  'operation.cancelled',
  'workflow.finished',
  'drift.found',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** `*` subscribes to every type, including ones added later. */
export const ALL_EVENTS = '*';

/** A workspace's webhook subscription as the API shows it: never its secret. */
export interface WebhookSubscription {
  id: string;
  workspace: string;
  url: string;
  events: string[];
  active: boolean;
  description: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** The shortest secret a caller may give; a generated one is 32 random bytes. */
export const MIN_SECRET_LENGTH = 16;

export function subscribes(sub: Pick<WebhookSubscription, 'events' | 'active'>, type: string): boolean {
  return sub.active && (sub.events.includes(ALL_EVENTS) || sub.events.includes(type));
}
