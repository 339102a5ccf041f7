import type { Operation, OperationStatus } from './model.js';

/**
 * What a process wants to hear about the operations its own store writes: the metrics count
 * each ending once, in the process whose compare-and-set made it (a lost race tells nobody),
 * so summing every process's counts never counts an operation twice.
 */
export interface OperationObserver {
  /** A new operation was written (not one an Idempotency-Key or an existing id turned away). */
  created?(op: Operation): void;
  /** The operation reached a final state through this store; `previous` is where it came from. */
  finished?(op: Operation, previous: OperationStatus): void;
  /** A cancel of a running operation was recorded (the first request; a repeat is not told). */
  cancelRequested?(id: string): void;
}

/** Tells every observer; an observer that throws is skipped, never failing the write it watched. */
export function tell(observers: readonly OperationObserver[], call: (o: OperationObserver) => void): void {
  for (const observer of observers) {
    try {
      call(observer);
    } catch {
      // Counting is best effort: the write already happened and must stand.
    }
  }
}
