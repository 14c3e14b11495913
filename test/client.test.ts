import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CountersignClient,
  type CountersignError,
  createClient,
  isCountersignError,
} from '../src/client/index.js';
import { CLIENT_TYPES_FILE, clientTypesSource } from '../src/main/client-types.js';
import {
  TEMPORAL_INSTALL,
  TEMPORAL_PACKAGES,
  missingTemporal,
} from '../src/main/optional-packages.js';
import { type ServeProcess, spawnServe } from './support/countersign-serve.js';

/** `countersign serve` as a real process on a free port. */
const serve = (dataDir: string) =>
  spawnServe(
    { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_TEMPORAL_ADDRESS: '' },
    { timeoutMs: 30_000 },
  );

/**
 * A TCP proxy in front of the server that drops the first connection once the server has
 * answered (the request ran; the answer never reaches the client), then forwards as it is.
 */
async function droppingProxy(target: string) {
  const { hostname, port } = new URL(target);
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const n = ++connections;
    sockets.add(client);
    const upstream = net.connect(Number(port), hostname);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (n === 1) {
        client.destroy();
        upstream.destroy();
      } else client.write(chunk);
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // The client keeps its connection alive: end it, or close would wait for it.
        for (const socket of sockets) socket.destroy();
      }),
  };
}

describe('the typed client (countersign/client)', () => {
  it('is generated from the catalogue as it is now (npm run client:types)', () => {
    expect(fs.readFileSync(CLIENT_TYPES_FILE, 'utf8')).toBe(clientTypesSource());
  });

  it('names the Temporal packages package.json lists as optional peers', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(pkg.peerDependencies).toMatchObject(TEMPORAL_PACKAGES);
    for (const name of Object.keys(TEMPORAL_PACKAGES)) {
      expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
      expect(pkg.dependencies[name]).toBeUndefined();
    }
    const e = Object.assign(
      new Error(
        "Cannot find package '@temporalio/client' imported from /x/dist/src/main/temporal.js",
      ),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    expect(missingTemporal(e, 'why')).toMatchObject({
      code: 'DEPENDENCY_MISSING',
      details: { package: '@temporalio/client', install: TEMPORAL_INSTALL },
    });
    const other = Object.assign(new Error("Cannot find package 'left-pad'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(missingTemporal(other, 'why')).toBe(other);
  });

  describe('against countersign serve', () => {
    let dir: string;
    let server: ServeProcess;
    let operator: CountersignClient;
    let agent: CountersignClient;
    let bob: CountersignClient;
    let carol: CountersignClient;
    let agentToken: string;
    let workflow_id: string;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-client-'));
      server = await serve(dir);
      operator = createClient({
        baseUrl: server.url,
        token: server.operatorToken,
        purpose: 'setup',
      });
      const mint = async (name: string, role: string, kind: 'human' | 'agent') => {
        const { actor_id } = await operator.registerActor({ name, role, kind });
        const { token } = await operator.createToken({ actor_id, name });
        return { actor_id, token: token! };
      };
      const a = await mint('Ops bot', 'Developer', 'agent');
      agentToken = a.token;
      agent = createClient({ baseUrl: server.url, token: a.token });
      bob = createClient({
        baseUrl: server.url,
        token: (await mint('Bob', 'Senior Developer', 'human')).token,
      });
      carol = createClient({
        baseUrl: server.url,
        token: (await mint('Carol', 'Developer', 'human')).token,
      });
      ({ workflow_id } = await operator.startWorkflow({ title: 'client test' }));
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('proposes as an agent, decides as a human, reads back', async () => {
      const proposed = await agent.proposeAction({
        workflow_id,
        tool: 'update_status',
        params: { status: 'in_progress' },
        reason: 'mark the change as started',
      });
      expect(proposed.status).toBe('pending');
      const pending = await bob.listPendingReviews();
      expect(JSON.stringify(pending)).toContain(proposed.proposal_id);
      const reviewed = await bob.call(
        'review_action',
        { proposal_id: proposed.proposal_id, decision: 'approve' },
        { purpose: 'change review' },
      );
      expect(reviewed.status).toBe('approved');
      expect(reviewed.final_tool_call.hash).toBe(proposed.hash);
      const read = await agent.getProposal({ proposal_id: proposed.proposal_id });
      expect(JSON.stringify(read)).toContain('"approved"');
    });

    it('throws typed errors with the stable codes', async () => {
      const notFound = await agent
        .getProposal({ proposal_id: 'proposal_999' })
        .catch((e: unknown) => e as CountersignError);
      expect(isCountersignError(notFound, 'NOT_FOUND')).toBe(true);
      expect(notFound).toMatchObject({ status: 404, retryable: false });

      const own = await carol.proposeAction({
        workflow_id,
        tool: 'update_status',
        params: { status: 'done' },
        reason: 'finish',
      });
      const self = await carol
        .reviewAction({ proposal_id: own.proposal_id, decision: 'approve' }, { purpose: 'mine' })
        .catch((e: unknown) => e as CountersignError);
      expect(self).toMatchObject({ code: 'SELF_APPROVAL', status: 403, retryable: false });

      const invalid = await agent
        .proposeAction({ workflow_id: 'nope', tool: 'update_status', params: {}, reason: 'x' })
        .then(
          () => undefined,
          (e: unknown) => e as CountersignError,
        );
      expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(JSON.stringify(invalid?.details)).toContain('workflow_id');

      const noPurpose = await bob
        .reviewAction({ proposal_id: own.proposal_id, decision: 'approve' })
        .catch((e: unknown) => e as CountersignError);
      expect(noPurpose).toMatchObject({ code: 'POLICY_DENIED', status: 403 });

      const unreachable = await createClient({
        baseUrl: 'http://127.0.0.1:1',
        retries: 1,
        retryDelayMs: 1,
      })
        .listTools()
        .catch((e: unknown) => e as CountersignError);
      expect(unreachable).toMatchObject({ code: 'UNREACHABLE', status: 0, retryable: true });
    });

    it('retries a write whose connection dropped with the same Idempotency-Key: it runs once', async () => {
      const proxy = await droppingProxy(server.url);
      try {
        const flaky = createClient({ baseUrl: proxy.url, token: agentToken, retryDelayMs: 10 });
        const reason = `dropped-connection ${Date.now()}`;
        const answer = await flaky.proposeAction({
          workflow_id,
          tool: 'update_status',
          params: { status: 'retried' },
          reason,
        });
        expect(proxy.connections()).toBeGreaterThanOrEqual(2);
        const pending = await bob.listPendingReviews();
        const text = JSON.stringify(pending);
        expect(text.split(reason).length - 1).toBe(1);
        expect(text).toContain(answer.proposal_id);
      } finally {
        await proxy.close();
      }
    });
  });
});
