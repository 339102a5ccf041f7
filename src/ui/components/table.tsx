import type { ComponentChildren } from 'preact';

/**
 * A list as a table: "Loading…" until `rows` arrive (null until then), `empty` when there are
 * none, else one header per column and `row` for each row (a `<tr>` with its key).
 */
export function ListTable<T>(props: { rows: readonly T[] | null; empty: ComponentChildren; testId: string; columns: readonly string[]; row: (item: T) => ComponentChildren }) {
  if (props.rows === null) return <p aria-busy="true">Loading…</p>;
  if (props.rows.length === 0) return <>{props.empty}</>;
  return (
    <div class="table-wrap">
      <table data-testid={props.testId} class="striped">
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.rows.map(props.row)}</tbody>
      </table>
    </div>
  );
}
