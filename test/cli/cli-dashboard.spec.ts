import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const prefix = uniquePrefix('cli-dash');
const broker = `${REDIS_URL}?prefix=${prefix}`;
afterAll(async () => {
  if (await redisAvailable()) await deleteKeys(REDIS_URL, prefix);
});

/** Starts `stem dashboard` as its own process; resolves with its URL once it listens. */
async function startDashboard(args: string[], env: Record<string, string> = {}) {
  const register = fileURLToPath(new URL('../support/register-ts.mjs', import.meta.url));
  const main = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', register, main, 'dashboard', '--port', '0', '--broker', broker, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const found = /on (http:\/\/\S+?)\/(\s|$)/.exec(stdout);
      if (found) resolve(found[1]!);
    });
    child.once('exit', (code) => reject(new Error(`stem dashboard exited with ${code}: ${stderr}`)));
  });
  const stop = async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    return code;
  };
  return { url, stdout: () => stdout, stop };
}

describe.runIf(await redisAvailable())('stem dashboard', () => {
  it('serves every page on the broker of --broker until SIGTERM, then exits 0', async () => {
    const dash = await startDashboard(['--read-only']);
    try {
      expect(dash.stdout()).toContain('(read-only) (loopback requests only)');
      for (const path of ['/', '/tasks', '/dead-letters', '/workers', '/schedules', '/workflows', '/audit', `/tasks/${uniqueName('missing')}`]) {
        const res = await fetch(`${dash.url}${path}`);
        expect(res.status, path).toBe(200);
        expect(await res.text()).not.toContain('/actions/');
      }
    } finally {
      expect(await dash.stop()).toBe(0);
    }
  });

  it('asks for the user and password of STEM_DASHBOARD_USER and STEM_DASHBOARD_PASSWORD', async () => {
    const dash = await startDashboard([], { STEM_DASHBOARD_USER: 'ops', STEM_DASHBOARD_PASSWORD: 's3cret' });
    try {
      const refused = await fetch(`${dash.url}/`);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('Basic');
      expect((await fetch(`${dash.url}/`, { headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` } })).status).toBe(401);
      const page = await fetch(`${dash.url}/workers`, { headers: { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<span class="user">ops</span>');
    } finally {
      expect(await dash.stop()).toBe(0);
    }
  });
});
