import { describe, expect, test } from 'bun:test';
import { ReplyOrder } from '../../../src/protocols/sftp/reply-order.ts';

function harness() {
  const order = new ReplyOrder();
  const sent: number[] = [];
  const reply = (id: number) => order.reply(id, () => void sent.push(id));
  return { order, sent, reply };
}

describe('ReplyOrder', () => {
  test('a reply ready early waits for the requests that arrived before it', () => {
    const { order, sent, reply } = harness();
    for (const id of [1, 2, 3, 4]) order.arrive(id);
    reply(3);
    reply(2);
    expect(sent).toEqual([]);
    reply(1);
    expect(sent).toEqual([1, 2, 3]);
    expect(order.waiting).toBe(1);
    reply(4);
    expect(sent).toEqual([1, 2, 3, 4]);
    expect(order.waiting).toBe(0);
  });

  test('arrival order, not id order, decides', () => {
    const { order, sent, reply } = harness();
    for (const id of [9, 3, 7]) order.arrive(id);
    reply(3);
    reply(7);
    reply(9);
    expect(sent).toEqual([9, 3, 7]);
  });

  test('a reused id is answered slot by slot', () => {
    const { order, sent, reply } = harness();
    order.arrive(5);
    order.arrive(6);
    order.arrive(5);
    reply(5);
    expect(sent).toEqual([5]);
    reply(5);
    expect(sent).toEqual([5]);
    reply(6);
    expect(sent).toEqual([5, 6, 5]);
    expect(order.waiting).toBe(0);
  });

  test('a reply to an id that never arrived goes out at once', () => {
    const { order, sent, reply } = harness();
    order.arrive(1);
    reply(42);
    expect(sent).toEqual([42]);
    expect(order.waiting).toBe(1);
  });

  test('a failing write does not stop the replies behind it', () => {
    const order = new ReplyOrder();
    const sent: number[] = [];
    for (const id of [1, 2]) order.arrive(id);
    order.reply(2, () => void sent.push(2));
    order.reply(1, () => {
      throw new Error('channel closed');
    });
    expect(sent).toEqual([2]);
  });

  test('clear drops waiting replies without running them', () => {
    const { order, sent, reply } = harness();
    for (const id of [1, 2]) order.arrive(id);
    reply(2);
    order.clear();
    expect(order.waiting).toBe(0);
    reply(1);
    expect(sent).toEqual([1]);
  });

  test('stays correct across many requests (the slot list is compacted)', () => {
    const { order, sent, reply } = harness();
    const ids = Array.from({ length: 5000 }, (_, i) => i);
    for (const id of ids) order.arrive(id);
    // Answer in pairs, the second of each pair first.
    for (let i = 0; i < ids.length; i += 2) {
      reply(i + 1);
      reply(i);
    }
    expect(sent).toEqual(ids);
    expect(order.waiting).toBe(0);
  });
});
