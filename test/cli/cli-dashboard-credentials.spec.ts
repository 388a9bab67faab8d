import { describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run-cli.js';
import { parseCookies } from '../../lib/dashboard/dashboard-security.js';

describe('stem dashboard settings', () => {
  it('refuses to start with only one of the basic-auth variables, naming the missing one', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (line: string) => void err.push(line) };
    const code = await runCli(['dashboard', '--port', '0', '--broker', 'memory://'], io, { STEM_DASHBOARD_USER: 'ops' });
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('STEM_DASHBOARD_PASSWORD is not set');
  });

  it('keeps a badly encoded cookie as it is instead of failing the request', () => {
    expect(parseCookies('other=%E0%A4%A; stem_csrf=abc%20def')).toEqual({ other: '%E0%A4%A', stem_csrf: 'abc def' });
  });
});
