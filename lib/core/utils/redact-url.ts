/**
 * The URL with its password replaced by `***`, for error messages and logs. A bare trailing `/`
 * is dropped (`redis://host:6379`, not `redis://host:6379/`).
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    const text = parsed.toString();
    return parsed.pathname === '/' && !parsed.search && !parsed.hash ? text.replace(/\/$/, '') : text;
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
