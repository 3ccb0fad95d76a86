/**
 * MurmurHash3 (x86, 32-bit) over a string's UTF-8 bytes: a stable string hash for the hashing trick.
 * Pure integer arithmetic with no dependency on the platform, the Node version or a library, so the
 * bucket a category lands in is the same in training, evaluation and inference, in every process.
 */
export function murmurHash3(text: string, seed = 0): number {
  let h = seed >>> 0;
  let block = 0;
  let blockBytes = 0;
  let length = 0;

  const mixBlock = (k: number) => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  };
  const pushByte = (byte: number) => {
    block |= byte << (8 * blockBytes);
    blockBytes += 1;
    length += 1;
    if (blockBytes === 4) {
      mixBlock(block);
      block = 0;
      blockBytes = 0;
    }
  };

  for (let i = 0; i < text.length; i += 1) {
    let code = text.charCodeAt(i);
    // A surrogate pair is one code point; a lone surrogate encodes as U+FFFD, as TextEncoder does.
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      code = 0xfffd;
    }
    if (code < 0x80) {
      pushByte(code);
    } else if (code < 0x800) {
      pushByte(0xc0 | (code >> 6));
      pushByte(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      pushByte(0xe0 | (code >> 12));
      pushByte(0x80 | ((code >> 6) & 0x3f));
      pushByte(0x80 | (code & 0x3f));
    } else {
      pushByte(0xf0 | (code >> 18));
      pushByte(0x80 | ((code >> 12) & 0x3f));
      pushByte(0x80 | ((code >> 6) & 0x3f));
      pushByte(0x80 | (code & 0x3f));
    }
  }

  if (blockBytes > 0) {
    let k = Math.imul(block, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket in [0, buckets) a value falls into under the hashing trick. */
export function hashBucket(text: string, buckets: number, seed = 0): number {
  return murmurHash3(text, seed) % buckets;
}
