/** The upstream answer cache stays bounded and forgets expired answers (CoreDNS cache: 9984 entries by default). */
import test from 'ava';
import type { UpstreamReply } from '../../../src/dns/server/upstream.js';
import { UPSTREAM_CACHE_CAPACITY, UpstreamCache } from '../../../src/dns/server/upstream-cache.js';
import { emptyHeader, RRClass, RRType } from '../../../src/dns/wire/message.js';

function reply(name: string, ttl: number): UpstreamReply {
  return {
    wire: Buffer.alloc(0),
    message: {
      header: emptyHeader(1),
      question: { name, type: RRType.A, class: RRClass.IN },
      answer: [{ name, type: RRType.A, class: RRClass.IN, ttl, data: '192.0.2.1' }],
      authority: [],
      additional: [],
      edns: null,
    },
  };
}

test('the default capacity is CoreDNS cache plugin default', (t) => {
  t.is(UPSTREAM_CACHE_CAPACITY, 9984);
});

test('at capacity the oldest inserted answer is evicted', async (t) => {
  const cache = new UpstreamCache(30, () => 0, 3);
  let asked = 0;
  const fetch = (name: string) =>
    cache.fetch(name, 1, async () => {
      asked++;
      return reply(name, 60);
    });
  for (const n of ['a.', 'b.', 'c.', 'd.', 'e.']) await fetch(n);
  t.is(cache.size, 3);
  t.is(asked, 5);
  await fetch('e.');
  t.is(asked, 5, 'the newest is still cached');
  await fetch('a.');
  t.is(asked, 6, 'the oldest was evicted');
});

test('an expired answer is dropped when looked up, not kept beside a fresh one', async (t) => {
  let now = 0;
  const cache = new UpstreamCache(30, () => now, 100);
  await cache.fetch('x.', 1, async () => reply('x.', 10));
  t.is(cache.size, 1);
  now = 11_000;
  // Upstream now says TTL 0: nothing to cache, and the stale entry must be gone too.
  const fresh = await cache.fetch('x.', 1, async () => reply('x.', 0));
  t.is(fresh.message?.answer[0]?.ttl, 0);
  t.is(cache.size, 0);
});

test('TTLs count down: the first reply is capped at the cache time, later ones get what is left of it', async (t) => {
  let now = 0;
  const cache = new UpstreamCache(30, () => now, 100);
  let asked = 0;
  const fetch = () =>
    cache.fetch('long.', 1, async () => {
      asked++;
      return reply('long.', 300);
    });
  const ttlAt = async (ms: number) => {
    now = ms;
    return (await fetch()).message!.answer[0]!.ttl;
  };
  t.is(await ttlAt(0), 30, 'capped at the cache time, not the upstream 300');
  t.is(await ttlAt(2_999), 28, 'whole seconds gone: 2');
  t.is(await ttlAt(3_000), 27);
  t.is(await ttlAt(29_999), 1);
  t.is(asked, 1);
  t.is(await ttlAt(30_000), 30, 'expired: asked again, and capped again');
  t.is(asked, 2);
});

test('a record with a shorter TTL than the cache time keeps it on the first reply, then counts down', async (t) => {
  let now = 0;
  const cache = new UpstreamCache(30, () => now, 100);
  t.is((await cache.fetch('short.', 1, async () => reply('short.', 5))).message!.answer[0]!.ttl, 5);
  now = 4_000;
  t.is((await cache.fetch('short.', 1, async () => reply('short.', 5))).message!.answer[0]!.ttl, 1);
});
