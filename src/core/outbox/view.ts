import type { Delivery } from './model.js';

/**
 * A delivery as the API shows it. Lists leave out what was sent; one delivery read by its id
 * shows it (`body`: the webhook event, or the mesh message without its signature).
 */
export function deliveryView(d: Delivery, withBody = false): Record<string, unknown> {
  const { body, ...rest } = d;
  if (!withBody) return rest;
  let parsed: unknown = body;
  try {
    parsed = JSON.parse(body);
  } catch {
    // kept as text
  }
  return { ...rest, body: parsed };
}
