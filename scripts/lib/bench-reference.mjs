// The reference servers of the benchmarks: a bare fastify app (the framework's own ceiling, with
// the same fastify the panda-server uses) answering a hello-world GET and a JSON POST.
//
// Two more routes do, in the same bare app, only the work a secrets call cannot do without, with
// panda-secrets' own code: what they reach is the most the server's row could reach on this machine.
//   GET /decrypt  decrypts ten 100-byte secrets (the at-rest format, decryptAtRestSync) and answers
//                 them as get_user_secrets does;
//   POST /write   finds the caller by a hash of its bearer token, seals the value (encryptAtRest) and
//                 stores it with its audit entry (the SQLite store's putSecret, its writes of one
//                 turn committed together), answering after the commit, as set_user_secrets does.
// Usage: node bench-reference.mjs DATA_DIR; prints "listening on URL" like panda-server.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Fastify from 'fastify';

const root = join(import.meta.dirname, '../..');
const { decryptAtRestSync, encryptAtRest, generateKeyring } = await import(join(root, 'packages/crypto/dist/index.js'));
const { createSqliteStore } = await import(join(root, 'packages/store/dist/index.js'));

const keyring = generateKeyring();
const owner = 'bench';
const value = new TextEncoder().encode('v'.repeat(100));
const stored = [];
for (let index = 0; index < 10; index += 1) {
  const key = `BENCH_${index}`;
  stored.push({ owner, key, ciphertext: (await encryptAtRest(keyring, { owner, key }, value)).ciphertext });
}
const store = await createSqliteStore({ file: join(process.argv[2], 'reference.db') });
const quota = { maxSecrets: 1000, maxTotalBytes: 100_000_000 };
/** Callers by the SHA-256 of their Authorization header, as panda-server's token cache keys them. */
const callers = new Map();

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
app.post('/json', async (request) => ({
  success: true,
  message: '',
  data: null,
  received: Object.keys(request.body ?? {}).length,
}));
app.get('/decrypt', async () => {
  const dict = {};
  for (const secret of stored) {
    dict[secret.key] = Buffer.from(decryptAtRestSync(keyring, secret, secret.ciphertext)).toString('utf8');
  }
  return { success: true, message: '', data: JSON.stringify(dict) };
});
app.post('/write', async (request, reply) => {
  const hash = createHash('sha256')
    .update(request.headers.authorization ?? '')
    .digest('base64url');
  let caller = callers.get(hash);
  if (caller === undefined) {
    caller = { owner };
    callers.set(hash, caller);
  }
  const { key, value: text } = request.body;
  const plaintext = new TextEncoder().encode(text);
  const { ciphertext, keyId } = await encryptAtRest(keyring, { owner: caller.owner, key }, plaintext);
  await store.putSecret({ owner: caller.owner, key, ciphertext, keyId, size: plaintext.length }, quota, {
    actor: caller.owner,
    action: 'set',
    key,
    remote: request.ip,
    jobId: null,
  });
  return reply.send({ success: true, message: '', data: null });
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${address}`);
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => store.close())
      .then(() => process.exit(0)),
);
