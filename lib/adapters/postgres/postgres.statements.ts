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

const bySchema = new WeakMap<(s: string) => string, Map<string, (values: unknown[]) => pg.QueryConfig>>();

/**
 * {@link prepared} of the statement `build` writes for schema `s` (`s` as `sql.*` takes it), made
 * once per statement and schema.
 */
export function preparedSql(build: (s: string) => string, s: string): (values: unknown[]) => pg.QueryConfig {
  let forSchema = bySchema.get(build);
  if (!forSchema) bySchema.set(build, (forSchema = new Map()));
  let statement = forSchema.get(s);
  if (!statement) forSchema.set(s, (statement = prepared(build(s))));
  return statement;
}
