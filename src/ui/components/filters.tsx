/** One filter of a list: a labelled select whose first choice, "any", filters nothing. */
export function FilterSelect(props: { label: string; name: string; value: string; options: readonly string[]; onChange: (value: string) => void }) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">any</option>
        {props.options.map((s) => (
          <option key={s}>{s}</option>
        ))}
      </select>
    </label>
  );
}

/** The free-text search of a list (`q`), matched in the browser against what is loaded. */
export function SearchField(props: { label: string; placeholder: string; value: string; onInput: (value: string) => void }) {
  return (
    <label class="search">
      {props.label}
      <input type="search" name="q" value={props.value} onInput={(e) => props.onInput(e.currentTarget.value)} placeholder={props.placeholder} />
    </label>
  );
}
