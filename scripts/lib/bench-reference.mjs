// The reference servers of the benchmarks: a bare fastify app (the framework's own ceiling, with
// the same fastify the panda-server uses) answering a hello-world GET and a JSON POST.
// Usage: node bench-reference.mjs; prints "listening on URL" like panda-server.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
app.post('/json', async (request) => ({
  success: true,
  message: '',
  data: null,
  received: Object.keys(request.body ?? {}).length,
}));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${address}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
