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
