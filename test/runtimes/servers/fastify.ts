/** sluice in Fastify 5: the Node path, with the reply hijacked so Fastify leaves `reply.raw` to sluice. */
import Fastify from 'fastify';
import { sendStream } from 'sluice/node';
import { story } from '../story.ts';

const app = Fastify();
app.get('/story', (request, reply) => {
  reply.hijack();
  void sendStream(reply.raw, story(request.url));
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening ${new URL(address).port}`);
