import { createServer, request, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryControlStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { createDashboardHandler, type DashboardHandler, type DashboardOptions } from '../../lib/dashboard/index.js';
import { makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';

/** A non-loopback IPv4 address of this machine, if it has one (requests to it come from it). */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
if (!outside) console.warn('Skipping the non-loopback dashboard cases: this machine has no non-loopback IPv4 address.');

const servers: { server: Server; handler: DashboardHandler }[] = [];
const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const controlStore = new InMemoryControlStore();
const queue = uniqueName('dash-sec');

async function serve(options: DashboardOptions): Promise<string> {
  const handler = createDashboardHandler({ broker, backend, controlStore }, { basePath: '/stem', ...options });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  servers.push({ server, handler });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const viaOutside = (url: string) => url.replace('127.0.0.1', outside ?? '127.0.0.1');

/** Opens a page like a browser: its cookie and the CSRF token it carries. */
async function session(url: string, path = '/stem/workers'): Promise<{ cookie: string; token: string; html: string }> {
  const page = await fetch(`${url}${path}`);
  expect(page.status).toBe(200);
  const html = await page.text();
  return { cookie: page.headers.get('set-cookie')!.split(';')[0]!, token: /name="stem-csrf" content="([^"]+)"/.exec(html)![1]!, html };
}

const post = (url: string, action: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${url}/stem/actions/${action}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });

const paused = async (name: string) => (await controlStore.listQueuePauses()).some((p) => p.queue === name && p.paused);

let open: string;
beforeAll(async () => {
  open = await serve({ queues: [queue], redact: (payload) => (payload && typeof payload === 'object' ? { ...payload, card: '[redacted]' } : payload) });
});
afterAll(async () => {
  for (const { server, handler } of servers) {
    handler.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('dashboard security', () => {
  it('answers a loopback request without a guard', async () => {
    const res = await fetch(`${open}/stem`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(queue);
  });

  it.runIf(outside)('refuses a non-loopback request when no guard is configured, and says why', async () => {
    const res = await fetch(`${viaOutside(open)}/stem`);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/no guard.*loopback.*came from/);
  });

  it('refuses a loopback request addressed to another host name when no guard is configured (DNS rebinding)', async () => {
    const { port } = new URL(open);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/stem', headers: { host: `rebound.example:${port}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject).end();
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('"rebound.example"');
    expect((await fetch(open.replace('127.0.0.1', 'localhost') + '/stem')).status).toBe(200);
  });

  it('refuses a loopback request that came through a proxy when no guard is configured', async () => {
    const res = await fetch(`${open}/stem`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('proxy');
  });

  it.runIf(outside)('with a guard, lets through what it allows, refuses the rest, and records its user', async () => {
    const url = viaOutside(await serve({ guards: [(req) => (req.headers['x-user'] === 'ada' ? 'ada' : false)] }));
    expect((await fetch(`${url}/stem`)).status).toBe(403);
    const page = await fetch(`${url}/stem/workers`, { headers: { 'x-user': 'ada' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const token = /name="stem-csrf" content="([^"]+)"/.exec(html)![1]!;
    const name = uniqueName('guarded');
    const res = await post(url, 'queue-pause', { _csrf: token, queue: name }, { cookie, 'x-user': 'ada' });
    expect(res.status).toBe(303);
    expect(await paused(name)).toBe(true);
    const [entry] = await servers.at(-1)!.handler.audit.list(1);
    expect(entry).toMatchObject({ who: 'ada', action: 'queue-pause', target: `queue ${name}`, count: 1, ok: true });
  });

  it('refuses a mutating request without the CSRF token, or with the token of another browser, and changes nothing', async () => {
    const { cookie, token } = await session(open);
    const other = await session(open);
    const name = uniqueName('csrf');
    const missing = await post(open, 'queue-pause', { queue: name }, { cookie });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain('CSRF');
    expect((await post(open, 'queue-pause', { queue: name, _csrf: other.token }, { cookie })).status).toBe(403);
    expect((await post(open, 'queue-pause', { queue: name, _csrf: token })).status).toBe(403);
    expect(await paused(name)).toBe(false);
    const ok = await post(open, 'queue-pause', { queue: name, _csrf: token }, { cookie });
    expect(ok.status).toBe(303);
    expect(await paused(name)).toBe(true);
  });

  it('refuses a cross-origin post even with a valid token', async () => {
    const { cookie, token } = await session(open);
    const name = uniqueName('origin');
    const res = await post(open, 'queue-pause', { queue: name, _csrf: token }, { cookie, origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(await paused(name)).toBe(false);
  });

  it('refuses a post whose Origin header is not a URL, without a server error', async () => {
    const { cookie, token } = await session(open);
    const name = uniqueName('origin-garbled');
    const res = await post(open, 'queue-pause', { queue: name, _csrf: token }, { cookie, origin: 'not a url' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('cross-origin');
    expect(await paused(name)).toBe(false);
  });

  it('answers 400 naming the bad id for an address with malformed percent-encoding', async () => {
    for (const path of ['/stem/tasks/%E0%A4%A', '/stem/workflows/abc%', '/stem/tasks/%zz']) {
      const res = await fetch(`${open}${path}`);
      expect(res.status, path).toBe(400);
      expect(await res.text(), path).toContain('not valid percent-encoding');
    }
    const ok = await fetch(`${open}/stem/tasks/${encodeURIComponent('a%b/c')}`);
    expect(ok.status).toBe(200);
  });

  it('redirects back only to a path of the dashboard, whatever the back field or the referer says (no open redirect)', async () => {
    // NOTE: at the root (basePath ''), as `stem dashboard` serves it: nothing is put before `back`.
    const root = await serve({ basePath: '' });
    const page = await fetch(`${root}/workers`);
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const token = /name="stem-csrf" content="([^"]+)"/.exec(await page.text())![1]!;
    const locationAfter = async (back: string | undefined, referer?: string) => {
      const res = await fetch(`${root}/actions/queue-pause`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...(referer ? { referer } : {}) },
        body: new URLSearchParams({ _csrf: token, queue: uniqueName('back'), ...(back !== undefined ? { back } : {}) }).toString(),
      });
      expect(res.status).toBe(303);
      return res.headers.get('location');
    };
    const attacks = [
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      '/%2F/evil.example',
      '/%5Cevil.example',
      '/%2e%2e/evil',
      '/../evil',
      'https://evil.example',
      ' //evil.example',
      '/\u3000/evil.example',
    ];
    for (const back of attacks) expect(await locationAfter(back), JSON.stringify(back)).toBe('/');
    const { host } = new URL(root);
    expect(await locationAfter(undefined, `http://${host}//evil.example/x`)).toBe('/');
    expect(await locationAfter(undefined, `http://evil.example/workers`)).toBe('/');
    expect(await locationAfter('/workers?queue=a%2Fb')).toBe('/workers?queue=a%2Fb');
    expect(await locationAfter('/tasks/0193-abc')).toBe('/tasks/0193-abc');
    expect(await locationAfter(undefined, `http://${host}/dead-letters?queue=q`)).toBe('/dead-letters?queue=q');
  });

  it('records each action in the audit list shown on the audit page', async () => {
    const { cookie, token } = await session(open);
    const name = uniqueName('audited');
    await post(open, 'queue-pause', { queue: name, _csrf: token }, { cookie });
    await post(open, 'queue-resume', { queue: name, _csrf: token }, { cookie });
    const html = await (await fetch(`${open}/stem/audit`, { headers: { cookie } })).text();
    expect(html).toContain(`queue ${name}`);
    expect(html).toContain('queue-pause');
    expect(html).toContain('queue-resume');
    expect(html).toMatch(/local 127\.0\.0\.1/);
  });

  it('in read-only mode shows no action and refuses every post', async () => {
    const url = await serve({ readOnly: true, queues: [queue] });
    for (const path of ['/stem', '/stem/workers', `/stem/dead-letters?queue=${queue}`]) {
      const html = await (await fetch(`${url}${path}`)).text();
      expect(html).not.toContain('/stem/actions/');
      expect(html).toContain('read-only');
    }
    const { cookie, token } = await session(url);
    const name = uniqueName('ro');
    const res = await post(url, 'queue-pause', { queue: name, _csrf: token }, { cookie });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('read-only');
    expect(await paused(name)).toBe(false);
  });

  it('passes shown arguments through redact', async () => {
    const envelope = makeEnvelope(queue, { args: { orderId: 'o-1', card: '4111 1111 1111 1111' } });
    await broker.publish(envelope);
    const consumer = broker.consume({ queues: [queue], consumerName: 'test' });
    const [delivery] = await consumer.fetch(1, AbortSignal.timeout(5_000));
    await broker.deadLetter(delivery!, 'max-retries-exhausted', { error: { type: 'Error', message: 'card declined' } });
    await consumer.close();
    const html = await (await fetch(`${open}/stem/tasks/${envelope.id}?queue=${queue}`)).text();
    expect(html).toContain('o-1');
    expect(html).toContain('[redacted]');
    expect(html).not.toContain('4111');
    const list = await (await fetch(`${open}/stem/dead-letters?queue=${queue}`)).text();
    expect(list).toContain('card declined');
    expect(list).not.toContain('4111');
  });

  it('replays a set of dead letters only after a dry run has counted them, with the count it showed', async () => {
    const bulk = uniqueName('dash-bulk');
    const consumer = broker.consume({ queues: [bulk], consumerName: 'test' });
    for (let i = 0; i < 3; i++) {
      await broker.publish(makeEnvelope(bulk, { args: { i } }));
      const [delivery] = await consumer.fetch(1, AbortSignal.timeout(5_000));
      await broker.deadLetter(delivery!, 'max-retries-exhausted', { error: { type: 'Error', message: `no ${i}` } });
    }
    await consumer.close();
    const { cookie, token } = await session(open);
    const dry = await post(open, 'dead-letters-bulk', { _csrf: token, queue: bulk, op: 'replay', limit: '2', since: '1h', dryRun: 'true' }, { cookie });
    expect(dry.status).toBe(200);
    const confirm = await dry.text();
    expect(confirm).toContain(`Would replay 2 dead letter(s) of queue &quot;${bulk}&quot;`);
    expect((await broker.listDeadLetters(bulk)).items).toHaveLength(3);
    const fields = Object.fromEntries([...confirm.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    expect(fields).toMatchObject({ queue: bulk, op: 'replay', limit: '2', dryRun: 'false' });
    const done = await post(open, 'dead-letters-bulk', fields, { cookie });
    expect(done.status).toBe(303);
    expect((await broker.listDeadLetters(bulk)).items).toHaveLength(1);
    expect(await broker.pendingCount(bulk)).toBe(2);
    const [entry] = await servers[0]!.handler.audit.list(1);
    expect(entry).toMatchObject({ action: 'dead-letters-bulk', count: 2, ok: true });
  });
});
