import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * A named (server-side prepared) statement: parsed and planned once per connection, then only
 * bound and executed. The name is derived from the text, so two texts never share a name.
 */
export function prepared(text: string): (values: unknown[]) => pg.QueryConfig {
  const name = `stem_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
  return (values) => ({ name, text, values });
}

const byText = new Map<string, (values: unknown[]) => pg.QueryConfig>();

/**
 * {@link prepared} for a text built anew at each call from fixed parts (a statement of the
 * workflow store, whose text only names the schema), made once per text. Only for such texts:
 * each distinct text is kept, and prepared on every connection that runs it.
 */
export function preparedText(text: string): (values: unknown[]) => pg.QueryConfig {
  let statement = byText.get(text);
  if (!statement) byText.set(text, (statement = prepared(text)));
  return statement;
}
