import { InvalidInput } from "@synthmri/platform";

/** The first message of a client stream and an iterable over the rest (the config-then-data pattern). */
export async function firstAndRest<T>(
  source: AsyncIterable<T>,
  what: string,
): Promise<{ first: T; rest: AsyncIterable<T> }> {
  const it = source[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) throw new InvalidInput(`${what}: the request stream was empty; send a config message first`);
  const rest: AsyncIterable<T> = {
    [Symbol.asyncIterator]: () => ({
      next: () => it.next(),
      return: async () => (await it.return?.()) ?? { done: true, value: undefined },
    }),
  };
  return { first: head.value, rest };
}
