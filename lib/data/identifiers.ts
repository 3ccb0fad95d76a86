/**
 * The one place that turns a name (a column or table name from data, config or a user) into SQL.
 * Names are identifiers, always double-quoted with embedded quotes doubled, so a name like
 * `a"; DROP TABLE t; --` is just a strange column name. Values never pass through here: they are
 * bound parameters.
 */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`An identifier must be a string, got ${typeof name}`);
  if (name.length === 0) throw new RangeError('An identifier must not be empty');
  if (name.includes('\0'))
    throw new RangeError(`Identifier ${JSON.stringify(preview(name))} contains NUL, which SQL identifiers cannot hold`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** A short, printable form of a possibly huge or odd name, for messages. */
export function preview(name: string, maxChars = 80): string {
  return name.length > maxChars ? `${name.slice(0, maxChars)}… (${name.length} chars)` : name;
}

/**
 * A string literal, for the one place SQL cannot take a bound parameter: file paths inside DDL (a view
 * over Parquet files). Single quotes doubled (DuckDB strings have no backslash escapes); NUL refused.
 * Everywhere else values are bound parameters.
 */
export function quoteStringLiteral(value: string): string {
  if (typeof value !== 'string') throw new TypeError(`A string literal must be a string, got ${typeof value}`);
  if (value.includes('\0')) throw new RangeError('A string literal must not contain NUL');
  return `'${value.replaceAll("'", "''")}'`;
}
