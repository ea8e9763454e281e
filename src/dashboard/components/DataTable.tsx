/**
 * A table that reads at any width: on a wide screen a plain table (scrolling sideways when it must),
 * at a phone's width each row becomes a card with the column names beside the values (the CSS uses
 * the cells' data-label). Sorting is the caller's (the server sorts the device list).
 */
import type { ComponentChildren } from 'preact';

export interface Column<T> {
  readonly key: string;
  readonly label: string;
  readonly render: (row: T) => ComponentChildren;
  /** The sort this column's header asks for; absent: not sortable. */
  readonly sort?: string;
  /** Numbers read right-aligned. */
  readonly numeric?: boolean;
  /** Shown as the card's title at a phone's width. */
  readonly primary?: boolean;
}

export interface SortState {
  readonly sort: string;
  readonly order: 'asc' | 'desc';
}

interface Props<T> {
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string;
  /** Shown instead of the table when there are no rows. */
  readonly empty: ComponentChildren;
  readonly caption?: string;
  readonly sort?: SortState;
  readonly onSort?: (sort: SortState) => void;
  readonly testId?: string;
}

export function DataTable<T>({ columns, rows, rowKey, empty, caption, sort, onSort, testId }: Props<T>) {
  if (rows.length === 0) return <>{empty}</>;
  const header = (column: Column<T>) => {
    if (column.sort === undefined || onSort === undefined) return column.label;
    const active = sort?.sort === column.sort;
    const next: SortState = { sort: column.sort, order: active && sort.order === 'asc' ? 'desc' : 'asc' };
    return (
      <button type="button" class="sort" onClick={() => onSort(next)} aria-label={`Sort by ${column.label}`}>
        {column.label}
        <span class="sort-mark" aria-hidden="true">
          {active ? (sort.order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    );
  };
  return (
    <div class="table-wrap">
      <table class="data" data-testid={testId}>
        {caption ? <caption>{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                key={c.key}
                scope="col"
                class={c.numeric ? 'num' : undefined}
                aria-sort={sort !== undefined && c.sort !== undefined && sort.sort === c.sort ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined}
              >
                {header(c)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.key} data-label={c.label} class={[c.numeric ? 'num' : '', c.primary ? 'primary' : ''].join(' ').trim() || undefined}>
                  {/* One child per cell: at a phone's width the cell is a two-column grid (label, value). */}
                  <div class="cell">{c.render(row)}</div>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
