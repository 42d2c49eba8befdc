/**
 * Entries as text, for stores that do not keep Buffers byte for byte. Keyv adapters receive what
 * Keyv's serializer made of a value, a string, so many hand a string back for a stored Buffer
 * (@keyv/redis reads it as UTF-8 and every entry would then fail to decode: a silent miss). Only
 * stores that declare `buffers: true` (MemoryStore, RedisStore) get raw entries; any other store,
 * and a Keyv instance, gets `kbc1:` followed by the entry in base64.
 */
const TEXT_PREFIX = 'kbc1:'

export function toText(bytes: Buffer): string {
  return TEXT_PREFIX + bytes.toString('base64')
}

/** The entry's bytes, or the value unchanged when it is not an entry written as text. */
export function fromText(value: string): Buffer | string {
  return value.startsWith(TEXT_PREFIX) ? Buffer.from(value.slice(TEXT_PREFIX.length), 'base64') : value
}
