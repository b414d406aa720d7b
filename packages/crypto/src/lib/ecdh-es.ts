import {
  ECDH,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPublicKey,
  diffieHellman,
} from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { randomBytesFromBlock } from './random.js';
import { isRecord } from './values.js';

/*
 * Compact JWE with `alg: ECDH-ES+A256KW`, `enc: A256GCM` on P-256 (RFC 7516, RFC 7518 §4.6, §4.4,
 * §5.3), written with node:crypto directly: the same JWE jose writes and reads, at a third of the
 * CPU, since WebCrypto sends each of its five steps (key generation, key export, key agreement, key
 * wrap, content encryption) through the thread pool with a promise apiece. The pilot opens it the
 * same way (ecdhEsOpen), for memory: jose's decrypt holds several whole copies of a large bundle.
 */
const CURVE = 'prime256v1';
const COORDINATE_BYTES = 32;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A wrapped 256-bit key: the key and RFC 3394's 64-bit integrity block. */
const WRAPPED_KEY_BYTES = KEY_BYTES + 8;
/** Base64url characters decrypted at a time: the ciphertext is never decoded whole. */
const CIPHERTEXT_CHUNK = 64 * 1024;
export const SEAL_ALG = 'ECDH-ES+A256KW';
const SEAL_ENC = 'A256GCM';
/** RFC 3394's default initial value, which AES key unwrapping checks. */
const KEY_WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/**
 * The key-encryption key: the Concat KDF of NIST SP 800-56A with SHA-256 over the shared secret,
 * as RFC 7518 §4.6.2 fixes its inputs (algorithm id `ECDH-ES+A256KW`, no PartyUInfo or
 * PartyVInfo, 256 bits). One SHA-256 round gives the 256 bits.
 */
function concatKdf(sharedSecret: Uint8Array, algorithm: string, keyBits: number): Buffer {
  const algorithmId = Buffer.from(algorithm, 'ascii');
  return createHash('sha256')
    .update(uint32(1))
    .update(sharedSecret)
    .update(uint32(algorithmId.length))
    .update(algorithmId)
    .update(uint32(0))
    .update(uint32(0))
    .update(uint32(keyBits))
    .digest();
}

/**
 * The bytes of base64url text, or undefined unless it is canonical: Buffer's decoder skips any
 * character outside base64url, so the round trip refuses them.
 */
function canonicalBase64Url(part: string): Buffer | undefined {
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

/** The bytes of a short base64url part, or undefined unless it is canonical base64url of `size` bytes. */
function shortPart(part: string, size: number): Buffer | undefined {
  const bytes = canonicalBase64Url(part);
  return bytes?.length === size ? bytes : undefined;
}

/**
 * The uncompressed P-256 point (`04 || x || y`) of a JWK's base64url coordinates, or undefined
 * unless both are 32 bytes in canonical base64url and the point lies on the curve.
 */
export function p256Point(x: string, y: string): Buffer | undefined {
  const xBytes = shortPart(x, COORDINATE_BYTES);
  const yBytes = shortPart(y, COORDINATE_BYTES);
  if (xBytes === undefined || yBytes === undefined) return undefined;
  const point = Buffer.concat([Buffer.from([4]), xBytes, yBytes]);
  try {
    // OpenSSL decodes the point only if it is on the curve (and not the point at infinity).
    ECDH.convertKey(point, CURVE);
  } catch {
    return undefined;
  }
  return point;
}

/**
 * Encrypts `plaintext` to the P-256 public key `point` as a compact JWE (ECDH-ES+A256KW, A256GCM):
 * a fresh ephemeral key pair per call, the content key random and wrapped under the agreed key,
 * and `header` (with `alg`, `enc` and the ephemeral key `epk` added) authenticated as the AEAD's
 * additional data.
 */
export function ecdhEsSeal(point: Buffer, header: Record<string, unknown>, plaintext: Uint8Array): string {
  const ephemeral = createECDH(CURVE);
  const ephemeralPoint = ephemeral.generateKeys();
  const sharedSecret = ephemeral.computeSecret(point);
  const keyEncryptionKey = concatKdf(sharedSecret, SEAL_ALG, KEY_BYTES * 8);
  const random = randomBytesFromBlock(KEY_BYTES + IV_BYTES);
  const contentKey = random.subarray(0, KEY_BYTES);
  const iv = random.subarray(KEY_BYTES);
  const wrap = createCipheriv('id-aes256-wrap', keyEncryptionKey, KEY_WRAP_IV);
  const encryptedKey = Buffer.concat([wrap.update(contentKey), wrap.final()]);
  const protectedHeader = Buffer.from(
    JSON.stringify({
      ...header,
      alg: SEAL_ALG,
      enc: SEAL_ENC,
      epk: {
        kty: 'EC',
        crv: 'P-256',
        x: ephemeralPoint.subarray(1, 1 + COORDINATE_BYTES).toString('base64url'),
        y: ephemeralPoint.subarray(1 + COORDINATE_BYTES).toString('base64url'),
      },
    }),
  ).toString('base64url');
  const cipher = createCipheriv('aes-256-gcm', contentKey, iv);
  cipher.setAAD(Buffer.from(protectedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const jwe = [
    protectedHeader,
    encryptedKey.toString('base64url'),
    iv.toString('base64url'),
    ciphertext.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.');
  // Key material is not kept past its use.
  sharedSecret.fill(0);
  keyEncryptionKey.fill(0);
  random.fill(0);
  return jwe;
}

/** A compact JWE opened by {@link ecdhEsOpen}: its protected header and its plaintext, as UTF-8 text. */
export interface OpenedJwe {
  header: Record<string, unknown>;
  text: string;
}

/**
 * True for unpadded base64url text. A loop, not a regular expression, since the ciphertext may
 * be megabytes long; Buffer's decoder would skip any other character.
 */
function isBase64Url(text: string, from: number, to: number): boolean {
  if ((to - from) % 4 === 1) return false;
  for (let at = from; at < to; at += 1) {
    const code = text.charCodeAt(at);
    const letter =
      (code >= 65 && code <= 90) ||
      (code >= 97 && code <= 122) ||
      (code >= 48 && code <= 57) ||
      code === 45 ||
      code === 95;
    if (!letter) return false;
  }
  return true;
}

/** The protected header of a JWE as {@link ecdhEsSeal} writes it, or undefined for any other. */
function sealedHeader(part: string): { header: Record<string, unknown>; epk: JsonWebKey } | undefined {
  let header: unknown;
  try {
    const bytes = canonicalBase64Url(part);
    if (bytes === undefined) return undefined;
    header = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(header)) return undefined;
  // Only what ecdhEsSeal writes is read: no compression, no critical extensions.
  if (header.alg !== SEAL_ALG || header.enc !== SEAL_ENC || 'zip' in header || 'crit' in header) return undefined;
  const epk = header.epk;
  if (!isRecord(epk) || epk.kty !== 'EC' || epk.crv !== 'P-256' || 'd' in epk) return undefined;
  if (typeof epk.x !== 'string' || typeof epk.y !== 'string') return undefined;
  if (p256Point(epk.x, epk.y) === undefined) return undefined;
  return { header, epk: { kty: 'EC', crv: 'P-256', x: epk.x, y: epk.y } };
}

/**
 * Opens a compact JWE (ECDH-ES+A256KW, A256GCM) sealed to the P-256 key `privateKey`, as
 * {@link ecdhEsSeal} or any JOSE library writes it, whose plaintext is UTF-8 text. The ciphertext
 * is decoded and decrypted a piece at a time straight from the JWE's text into the plaintext's
 * text, so a large bundle is not copied as a whole (decoded bytes, ciphertext and tag joined,
 * the plaintext's bytes). Throws
 * a plain Error, without any of the JWE's content, for a JWE that is malformed, altered or sealed
 * to another key.
 */
export function ecdhEsOpen(privateKey: KeyObject, jwe: string): OpenedJwe {
  const malformed = (): Error => new Error('not a compact ECDH-ES+A256KW/A256GCM JWE');
  const dots: number[] = [];
  for (let at = jwe.indexOf('.'); at !== -1 && dots.length < 5; at = jwe.indexOf('.', at + 1)) dots.push(at);
  if (dots.length !== 4) throw malformed();
  const [headerEnd, keyEnd, ivEnd, ciphertextEnd] = dots as [number, number, number, number];
  const sealed = sealedHeader(jwe.slice(0, headerEnd));
  const encryptedKey = shortPart(jwe.slice(headerEnd + 1, keyEnd), WRAPPED_KEY_BYTES);
  const iv = shortPart(jwe.slice(keyEnd + 1, ivEnd), IV_BYTES);
  const tag = shortPart(jwe.slice(ciphertextEnd + 1), TAG_BYTES);
  if (sealed === undefined || encryptedKey === undefined || iv === undefined || tag === undefined) throw malformed();
  if (!isBase64Url(jwe, ivEnd + 1, ciphertextEnd)) throw malformed();

  const sharedSecret = diffieHellman({
    privateKey,
    publicKey: createPublicKey({ key: sealed.epk, format: 'jwk' }),
  });
  const keyEncryptionKey = concatKdf(sharedSecret, SEAL_ALG, KEY_BYTES * 8);
  sharedSecret.fill(0);
  let contentKey: Buffer | undefined;
  try {
    // Unwrapping checks RFC 3394's integrity block: another pilot's key fails here.
    const unwrap = createDecipheriv('id-aes256-wrap', keyEncryptionKey, KEY_WRAP_IV);
    contentKey = Buffer.concat([unwrap.update(encryptedKey), unwrap.final()]);
    const decipher = createDecipheriv('aes-256-gcm', contentKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(jwe.slice(0, headerEnd), 'ascii'));
    decipher.setAuthTag(tag);
    // Straight to text (the decipher's decoder keeps a character cut between two pieces whole).
    const pieces: string[] = [];
    for (let from = ivEnd + 1; from < ciphertextEnd; from += CIPHERTEXT_CHUNK) {
      pieces.push(
        decipher.update(jwe.slice(from, Math.min(from + CIPHERTEXT_CHUNK, ciphertextEnd)), 'base64url', 'utf8'),
      );
    }
    // GCM gives out no bytes at the end; final() checks the tag.
    pieces.push(decipher.final('utf8'));
    return { header: sealed.header, text: pieces.join('') };
  } finally {
    keyEncryptionKey.fill(0);
    contentKey?.fill(0);
  }
}
