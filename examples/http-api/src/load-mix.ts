// What the load script sends: a mix of the API's requests, each with the statuses it
// should get. Most should succeed; some are meant to fail (bad input, a bounced mail),
// so the run shows those paths too.

/** Why a request is sent: to succeed, or to fail in one documented way. */
export type Intent = 'ok' | 'bad input' | 'bounced mail';

export interface PlannedRequest {
  /** `POST /thumbnails`, `GET /reports/:id`, …: the row it is counted in. */
  route: string;
  method: 'GET' | 'POST';
  path: string;
  /** Sent as it is: a bad-input request may carry something that is not JSON. */
  body?: string;
  /** The statuses that answer the request as intended. */
  expect: readonly number[];
  intent: Intent;
}

const IMAGES = ['beach.jpg', 'city.png', 'forest.jpg', 'harbour.webp', 'mountain.jpg', 'team.png'];
const WIDTHS = [64, 128, 256, 320, 512, 1024];
const KINDS = ['sales', 'traffic', 'inventory'];

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function post(route: string, body: unknown, expect: number, intent: Intent = 'ok'): PlannedRequest {
  const path = route.slice('POST '.length);
  return { route, method: 'POST', path, body: JSON.stringify(body), expect: [expect], intent };
}

function thumbnail(random: Random): PlannedRequest {
  const body = { image: `photos/${pick(random, IMAGES)}`, width: pick(random, WIDTHS) };
  return post('POST /thumbnails', body, 200);
}

function mail(random: Random): PlannedRequest {
  const user = `user${Math.floor(random() * 1000)}`;
  const roll = random();
  // One in ten greylisted (delivered on the retry), one in twenty bounced for good.
  if (roll < 0.05) {
    const body = { to: `${user}@nowhere.invalid`, subject: 'Your receipt' };
    return post('POST /mail', body, 502, 'bounced mail');
  }
  const domain = roll < 0.15 ? 'greylist.example' : 'example.com';
  return post('POST /mail', { to: `${user}@${domain}`, subject: 'Your receipt' }, 200);
}

function report(random: Random): PlannedRequest {
  const body = { kind: pick(random, KINDS), days: 1 + Math.floor(random() * 30) };
  return post('POST /reports', body, 202);
}

/** A look at a report's state. */
export function reportStatus(id: string): PlannedRequest {
  const path = `/reports/${encodeURIComponent(id)}`;
  return { route: 'GET /reports/:id', method: 'GET', path, expect: [200], intent: 'ok' };
}

function badInput(random: Random): PlannedRequest {
  const requests: PlannedRequest[] = [
    post('POST /thumbnails', { image: 'photos/huge.jpg', width: 100_000 }, 400, 'bad input'),
    post('POST /mail', { to: 'not-an-address', subject: 'Hello' }, 400, 'bad input'),
    { ...post('POST /reports', null, 400, 'bad input'), body: '{"kind": "sales", days: 7' },
    { ...reportStatus('not an id!'), expect: [400], intent: 'bad input' },
  ];
  return pick(random, requests);
}

/** The next request: a thumbnail, a mail, a report submitted or looked at, or bad input. */
export function nextRequest(random: Random, reportIds: readonly string[]): PlannedRequest {
  const roll = random();
  if (roll < 0.45) return thumbnail(random);
  if (roll < 0.65) return mail(random);
  if (roll < 0.77) return report(random);
  if (roll < 0.9) {
    return reportIds.length > 0 ? reportStatus(pick(random, reportIds)) : report(random);
  }
  return badInput(random);
}
