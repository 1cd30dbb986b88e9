// The on-disk format of an encrypted file, as pure arithmetic and byte layout (no I/O, no ciphers).
// It is SFTPGo's cryptfs format, so files move between the two servers:
//
//   file    = fileHeader || DARE 2.0 stream            (an empty file is the header alone)
//   fileHeader (33 bytes):
//     [0]      0x10                       SFTPGo cryptfs file version ("version10")
//     [1..33)  32 random bytes            per-file salt; key = HKDF-SHA256(ikm = passphrase (UTF-8),
//                                         salt = these bytes, info = empty), 32 bytes
//   DARE 2.0 stream (minio/sio, Version20) = package*, each package:
//     [0]      0x20                       DARE version 2.0
//     [1]      cipher suite               0x00 AES-256-GCM, 0x01 ChaCha20-Poly1305
//     [2..4)   payload length - 1         uint16 little endian
//     [4..16)  12-byte random stream nonce, the same in every package, except that bit 0x80 of
//              byte 4 is the "final package" flag (set on the last package only)
//     then the AEAD ciphertext (payload length bytes) and its 16-byte tag.
//   AEAD nonce of package #seq = header[4..16] with its last 4 bytes XORed with seq (uint32 LE);
//   additional data = header[0..4]. Every package but the last carries exactly 64 KiB; the last
//   carries 1..64 KiB. So truncation at a package boundary is caught (the new last package is not
//   marked final), and so are reordering (seq is in the nonce) and cross-file splicing (per-file
//   key). Truncating a file down to its bare 33-byte header is NOT detectable by the format: it
//   reads as an empty file, exactly as in SFTPGo.
import { hkdfSync } from 'node:crypto';

export const FILE_VERSION = 0x10;
export const FILE_SALT_SIZE = 32;
export const FILE_HEADER_SIZE = 1 + FILE_SALT_SIZE;

export const DARE_VERSION = 0x20;
export const HEADER_SIZE = 16;
export const TAG_SIZE = 16;
export const MAX_PAYLOAD = 1 << 16;
export const MAX_PACKAGE = HEADER_SIZE + MAX_PAYLOAD + TAG_SIZE;
export const STREAM_NONCE_SIZE = 12;
export const FINAL_FLAG = 0x80;

export const CIPHER_AES_256_GCM = 0x00;
export const CIPHER_CHACHA20_POLY1305 = 0x01;
export type CipherId = typeof CIPHER_AES_256_GCM | typeof CIPHER_CHACHA20_POLY1305;

/** DARE caps a stream at 2^32 packages (the sequence number is 32 bits). */
export const MAX_PLAINTEXT = MAX_PAYLOAD * 2 ** 32;

/** Size of the DARE stream holding `plain` bytes (sio.EncryptedSize). */
export function streamSize(plain: number): number {
  const full = Math.floor(plain / MAX_PAYLOAD);
  const rest = plain % MAX_PAYLOAD;
  return full * MAX_PACKAGE + (rest > 0 ? rest + HEADER_SIZE + TAG_SIZE : 0);
}

/** Size on disk of a file holding `plain` bytes. */
export function encryptedFileSize(plain: number): number {
  return FILE_HEADER_SIZE + streamSize(plain);
}

/**
 * Plaintext size of a DARE stream of `size` bytes (sio.DecryptedSize), or undefined when no
 * well-formed stream has that size (a last package too short to hold a payload byte).
 */
export function plaintextOfStream(size: number): number | undefined {
  const full = Math.floor(size / MAX_PACKAGE);
  const rest = size % MAX_PACKAGE;
  if (rest > 0 && rest <= HEADER_SIZE + TAG_SIZE) return undefined;
  return full * MAX_PAYLOAD + (rest > 0 ? rest - HEADER_SIZE - TAG_SIZE : 0);
}

/** Plaintext size of an encrypted file of `size` bytes, or undefined when the size is impossible. */
export function plaintextOfFile(size: number): number | undefined {
  if (size < FILE_HEADER_SIZE) return undefined;
  return plaintextOfStream(size - FILE_HEADER_SIZE);
}

/**
 * The size a listing shows: never fails, so one damaged file cannot break a directory listing
 * (reading it fails instead). A damaged tail counts for nothing.
 */
export function listedSize(fileSize: number): number {
  if (fileSize < FILE_HEADER_SIZE) return 0;
  const stream = fileSize - FILE_HEADER_SIZE;
  return plaintextOfStream(stream) ?? Math.floor(stream / MAX_PACKAGE) * MAX_PAYLOAD;
}

export function packageCount(plain: number): number {
  return Math.ceil(plain / MAX_PAYLOAD);
}

/** Index of the package that holds plaintext byte `offset`. */
export function packageIndex(offset: number): number {
  return Math.floor(offset / MAX_PAYLOAD);
}

/** File offset where package `index` starts. */
export function packageOffset(index: number): number {
  return FILE_HEADER_SIZE + index * MAX_PACKAGE;
}

/** Payload length of package `index` in a file of `plain` bytes (0 past the end). */
export function payloadLength(index: number, plain: number): number {
  const start = index * MAX_PAYLOAD;
  return Math.max(0, Math.min(MAX_PAYLOAD, plain - start));
}

export function fileHeader(salt: Uint8Array): Uint8Array {
  const h = new Uint8Array(FILE_HEADER_SIZE);
  h[0] = FILE_VERSION;
  h.set(salt.subarray(0, FILE_SALT_SIZE), 1);
  return h;
}

/** The per-file key, as SFTPGo derives it: HKDF-SHA256(passphrase, salt, no info), 32 bytes. */
export function deriveFileKey(passphrase: Uint8Array, salt: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', passphrase, salt, new Uint8Array(0), 32));
}

/** Fills the 16-byte package header at `dst[0..16)`. */
export function writePackageHeader(dst: Uint8Array, cipher: CipherId, length: number, streamNonce: Uint8Array, final: boolean): void {
  dst[0] = DARE_VERSION;
  dst[1] = cipher;
  dst[2] = (length - 1) & 0xff;
  dst[3] = (length - 1) >>> 8;
  dst.set(streamNonce.subarray(0, STREAM_NONCE_SIZE), 4);
  dst[4] = final ? dst[4]! | FINAL_FLAG : dst[4]! & ~FINAL_FLAG;
}

export interface PackageHeader {
  version: number;
  cipher: number;
  length: number;
  final: boolean;
}

export function readPackageHeader(h: Uint8Array): PackageHeader {
  return { version: h[0]!, cipher: h[1]!, length: (h[2]! | (h[3]! << 8)) + 1, final: (h[4]! & FINAL_FLAG) !== 0 };
}

/** The AEAD nonce of package `seq`: the header's 12 nonce bytes, last 4 XORed with seq (LE). */
export function aeadNonce(header: Uint8Array, seq: number): Uint8Array {
  const n = header.slice(4, HEADER_SIZE);
  for (let i = 0; i < 4; i++) n[8 + i] = n[8 + i]! ^ ((seq >>> (8 * i)) & 0xff);
  return n;
}
