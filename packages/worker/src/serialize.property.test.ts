import { DEFAULT_MAX_MESSAGE_BYTES, decode, encodeFrame } from '@ringcast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyEncoder, safeString, serializeError } from './serialize.js';

// Bounded so the file runs in about a second.
const RUNS = 400;

const encoder = new ReplyEncoder('w1', 'inc1', DEFAULT_MAX_MESSAGE_BYTES);

function revoked(target: object): object {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** A proxy every one of whose traps throws `thrown`. */
function trapped(target: object, thrown: unknown): object {
  const fail = () => {
    throw thrown;
  };
  return new Proxy(target, {
    get: fail,
    getPrototypeOf: fail,
    getOwnPropertyDescriptor: fail,
    has: fail,
    ownKeys: fail,
    apply: fail,
  });
}

type Target = 'object' | 'error' | 'function';
type Field = { value: Recipe } | { throws: Recipe } | { text: string };

/**
 * How to build a hostile value. fast-check inspects the values it generates (it
 * looks for a clone method with `in`), which a revoked proxy does not survive, so
 * the arbitrary draws recipes and each property builds its value from one.
 */
type Recipe =
  | { kind: 'plain'; value: unknown }
  | { kind: 'symbol'; description: string }
  | { kind: 'revoked'; target: Target }
  | { kind: 'trapped'; target: Target; thrown: Recipe }
  | {
      kind: 'error';
      fields: Record<string, Field>;
      toPrimitiveThrows: Recipe | undefined;
      revokedPrototype: boolean;
      cyclicCause: boolean;
    }
  | { kind: 'unprintable'; thrown: Recipe }
  | { kind: 'parsed'; json: string };

const targetArb = fc.constantFrom<Target>('object', 'error', 'function');

const recipe: fc.Arbitrary<Recipe> = fc.letrec<{ recipe: Recipe }>((tie) => ({
  recipe: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .anything({ withBigInt: true, withNullPrototype: true, withObjectString: true })
      .map((value) => ({ kind: 'plain' as const, value })),
    fc.string().map((description) => ({ kind: 'symbol' as const, description })),
    targetArb.map((target) => ({ kind: 'revoked' as const, target })),
    fc.record({ kind: fc.constant('trapped' as const), target: targetArb, thrown: tie('recipe') }),
    // An Error whose own fields are anything at all, or getters that throw anything.
    fc.record({
      kind: fc.constant('error' as const),
      fields: fc.dictionary(
        fc.constantFrom(
          'name',
          'message',
          'stack',
          'cause',
          'retryable',
          'code',
          'toString',
          'valueOf',
        ),
        fc.oneof(
          fc.record({ value: tie('recipe') }),
          fc.record({ throws: tie('recipe') }),
          fc.record({ text: fc.string({ maxLength: 20_000 }) }),
        ),
      ),
      toPrimitiveThrows: fc.option(tie('recipe'), { nil: undefined }),
      revokedPrototype: fc.boolean(),
      cyclicCause: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('unprintable' as const), thrown: tie('recipe') }),
    // Client JSON a handler echoes: parsed, it may hold keys the decoder refuses.
    fc
      .tuple(
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'a'),
        fc.jsonValue({ maxDepth: 2 }),
        fc.boolean(),
      )
      .map(([key, inner, wrap]) => {
        const value = key === 'constructor' ? { prototype: inner } : inner;
        const json = `{${JSON.stringify(key)}:${JSON.stringify(value)}}`;
        return { kind: 'parsed' as const, json: wrap ? `[1,${json}]` : json };
      }),
  ),
})).recipe;

function target(kind: Target): object {
  if (kind === 'error') return new Error('x');
  if (kind === 'function') return () => 1;
  return {};
}

function build(r: Recipe): unknown {
  switch (r.kind) {
    case 'plain':
      return r.value;
    case 'parsed':
      return JSON.parse(r.json);
    case 'symbol':
      return Symbol(r.description);
    case 'revoked':
      return revoked(target(r.target));
    case 'trapped':
      return trapped(target(r.target), build(r.thrown));
    case 'unprintable': {
      const thrown = build(r.thrown);
      const fail = () => {
        throw thrown;
      };
      return { toString: fail, [Symbol.toPrimitive]: fail };
    }
    case 'error': {
      const error = new Error('base');
      // Redefining `stack` formats the captured trace, which reads `name` and
      // `message`: it goes first, before those can throw.
      const fields = Object.entries(r.fields).sort(([a], [b]) =>
        a === 'stack' ? -1 : b === 'stack' ? 1 : 0,
      );
      for (const [key, field] of fields) {
        if ('throws' in field) {
          const thrown = build(field.throws);
          Object.defineProperty(error, key, {
            get() {
              throw thrown;
            },
            configurable: true,
          });
        } else {
          const value = 'text' in field ? field.text : build(field.value);
          Object.defineProperty(error, key, { value, configurable: true, writable: true });
        }
      }
      if (r.toPrimitiveThrows !== undefined) {
        const thrown = build(r.toPrimitiveThrows);
        Object.defineProperty(error, Symbol.toPrimitive, {
          value: () => {
            throw thrown;
          },
        });
      }
      if (r.cyclicCause) Object.defineProperty(error, 'cause', { value: error });
      if (r.revokedPrototype) Object.setPrototypeOf(error, revoked({}));
      return error;
    }
  }
}

/** What the dispatcher's decoder makes of the error reply: it must accept it. */
function wire(encoded: string) {
  const decoded = decode(encodeFrame([encoded], encoder.sender));
  if (!decoded.ok) throw decoded.error;
  expect(decoded.rejected).toEqual([]);
  return decoded.messages[0];
}

describe('serializing anything a handler throws', () => {
  it('never throws, and always gives a RemoteError the dispatcher accepts', () => {
    fc.assert(
      fc.property(recipe, (r) => {
        const remote = serializeError(build(r));
        expect(typeof remote.name).toBe('string');
        expect(remote.name.length).toBeGreaterThan(0);
        expect(remote.name.length).toBeLessThanOrEqual(128);
        expect(typeof remote.message).toBe('string');
        expect(remote.message.length).toBeLessThanOrEqual(8192);
        expect(typeof remote.retryable).toBe('boolean');
        if (remote.code !== undefined) expect(remote.code.length).toBeLessThanOrEqual(64);
        expect(wire(encoder.error('t1', 'tok1', remote))).toMatchObject({
          kind: 'result',
          ok: false,
          error: remote,
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws turning any handler result into a reply the dispatcher accepts', () => {
    fc.assert(
      fc.property(recipe, (r) => {
        const { encoded } = encoder.ok('t1', 'tok1', build(r));
        expect(wire(encoded)).toMatchObject({ kind: 'result', id: 't1', token: 'tok1' });
      }),
      { numRuns: RUNS },
    );
  });

  it('safeString never throws', () => {
    fc.assert(
      fc.property(recipe, (r) => {
        expect(typeof safeString(build(r))).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['a revoked proxy', () => revoked({})],
    ['a revoked proxy of an Error', () => revoked(new Error('x'))],
    ['a proxy whose every trap throws a revoked proxy', () => trapped({}, revoked({}))],
  ])('reports %s as NonError', (_what, make) => {
    expect(serializeError(make())).toMatchObject({ name: 'NonError', retryable: false });
  });

  it('reports an Error whose prototype is a revoked proxy without throwing', () => {
    const error = new Error('x');
    Object.setPrototypeOf(error, revoked({}));
    expect(serializeError(error)).toMatchObject({ name: 'NonError', retryable: false });
  });

  it('keeps an Error whose getters throw revoked proxies an Error', () => {
    const error = new TypeError('x');
    for (const key of ['name', 'message', 'code', 'retryable']) {
      Object.defineProperty(error, key, {
        get() {
          throw revoked({});
        },
      });
    }
    expect(serializeError(error)).toEqual({
      name: 'Error',
      message: '[unprintable value]',
      retryable: false,
    });
  });

  it('turns a result whose toJSON throws a revoked proxy into a TypeError result', () => {
    const value = {
      toJSON() {
        throw revoked({});
      },
    };
    const { encoded, ok } = encoder.ok('t1', 'tok1', value);
    expect(ok).toBe(false);
    expect(wire(encoded)).toMatchObject({ ok: false, error: { name: 'TypeError' } });
  });
});
