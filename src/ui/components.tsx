import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { OPERATION_STATUSES, TERMINAL_STATUSES } from '../core/operations/model.js';
import { PROVIDER_NAMES } from '../common/provider.js';
import { ApiError } from './api.js';

export const STATUSES = OPERATION_STATUSES;
export const TERMINAL: ReadonlySet<string> = TERMINAL_STATUSES;
export const PROVIDERS = PROVIDER_NAMES;

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      {status}
    </span>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function duration(fromIso: string | null | undefined, toIso?: string | null): string {
  if (!fromIso) return '—';
  const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.status} ${err.code})`;
  return (err as Error)?.message ?? String(err);
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error-note" role="alert">
      {messageOf(error)}
    </p>
  );
}

/**
 * A button that asks first: a modal dialog (focus moves into it, Escape closes it) with the
 * consequence spelled out, then runs `action` and shows its outcome or error.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  action: () => Promise<unknown>;
  danger?: boolean;
  testId?: string;
  onDone?: (result: unknown) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const open = () => {
    setError(null);
    dialog.current?.showModal();
  };
  const close = () => dialog.current?.close();
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await props.action();
      close();
      props.onDone?.(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const titleId = `dlg-${props.testId ?? props.label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <>
      <button type="button" class={props.danger ? 'secondary danger' : 'secondary'} onClick={open} data-testid={props.testId}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <article>
          <header>
            <h3 id={titleId}>{props.title}</h3>
          </header>
          {props.children}
          <ErrorNote error={error} />
          <footer>
            <button type="button" class="secondary" onClick={close} disabled={busy}>
              Keep it
            </button>{' '}
            <button type="button" class={props.danger ? 'danger' : ''} onClick={confirm} aria-busy={busy} disabled={busy} data-testid={props.testId ? `${props.testId}-confirm` : undefined}>
              {props.confirmLabel}
            </button>
          </footer>
        </article>
      </dialog>
    </>
  );
}

/** Calls `fn` now and every `ms` while mounted (and when `deps` change). */
export function useInterval(fn: () => void, ms: number, deps: unknown[] = []): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    saved.current();
    const t = setInterval(() => saved.current(), ms);
    return () => clearInterval(t);
  }, deps);
}

/** A function that runs `fn` at most once per `ms`, trailing. */
export function useDebounced(fn: () => void, ms: number): () => void {
  const saved = useRef(fn);
  saved.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      saved.current();
    }, ms);
  };
}

export function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <label>
      {props.label}
      {props.children}
    </label>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  if (value === null || value === undefined) return <p class="muted">none</p>;
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
