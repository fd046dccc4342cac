import { describe, expect, it } from 'vitest';
import { InvalidInput, mailRequest, reportRequest, thumbnailRequest } from './tasks.js';

describe('task payloads from request bodies', () => {
  it('takes what is valid, filling in what may be left out', () => {
    expect(thumbnailRequest({ image: 'photos/a.jpg', width: 64 })).toEqual({
      image: 'photos/a.jpg',
      width: 64,
      height: 64,
    });
    expect(mailRequest({ to: 'a@b.example', subject: 'Hi' })).toEqual({
      to: 'a@b.example',
      subject: 'Hi',
    });
    expect(mailRequest({ to: 'a@b.example', subject: 'Hi', text: 'Body' }).text).toBe('Body');
    expect(reportRequest({ kind: 'traffic', days: 90 })).toEqual({ kind: 'traffic', days: 90 });
  });

  it.each([
    ['a thumbnail body that is null', () => thumbnailRequest(null), /JSON object/],
    ['a thumbnail body that is a string', () => thumbnailRequest('a.jpg'), /JSON object/],
    ['a fractional width', () => thumbnailRequest({ image: 'a.jpg', width: 64.5 }), /"width"/],
    ['a width as a string', () => thumbnailRequest({ image: 'a.jpg', width: '64' }), /"width"/],
    [
      'a height too small',
      () => thumbnailRequest({ image: 'a.jpg', width: 64, height: 8 }),
      /"height"/,
    ],
    [
      'an image path with a space',
      () => thumbnailRequest({ image: 'a b.jpg', width: 64 }),
      /"image"/,
    ],
    ['an image path going up', () => thumbnailRequest({ image: '../x.jpg', width: 64 }), /"image"/],
    ['an own __proto__ key', () => thumbnailRequest(JSON.parse('{"__proto__": 1}')), /"__proto__"/],
    ['an address without a domain', () => mailRequest({ to: 'a@b', subject: 'x' }), /"to"/],
    ['an empty subject', () => mailRequest({ to: 'a@b.example', subject: '' }), /"subject"/],
    [
      'text that is not a string',
      () => mailRequest({ to: 'a@b.example', subject: 'x', text: 1 }),
      /"text"/,
    ],
    ['an unknown report kind', () => reportRequest({ kind: 'toString', days: 1 }), /"kind"/],
    ['too many days', () => reportRequest({ kind: 'sales', days: 91 }), /"days"/],
  ])('refuses %s with InvalidInput', (_what, parse, message) => {
    expect(parse).toThrow(InvalidInput);
    expect(parse).toThrow(message);
  });
});
