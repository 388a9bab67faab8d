/**
 * A task-name glob as a regular expression: `*` matches any run of characters (dots included),
 * `?` one character; everything else is literal.
 *
 * @example globToRegExp('reports.*').test('reports.daily.pdf') // true
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const char of glob) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source.replace(/(\.\*)+/g, '.*')}$`, 's');
}
