/** sluice in Express 5: the Node path (`sendStream` onto `res`). */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { sendStream } from 'sluice/node';
import { story } from '../story.ts';

const app = express();
app.get('/story', (req, res) => void sendStream(res, story(req.url)));
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
