/**
 * Serializations greenlight identifies by their first bytes and never deserializes: loading any
 * of them can run code chosen by whoever wrote the bytes (pickle's REDUCE, Marshal's gadget
 * chains, Java's readObject). A session in one of these formats is reported as opaque.
 */
export function opaqueFormat(bytes: Buffer): string | undefined {
  // Pickle protocols 2-5 start with PROTO (0x80) and the protocol number.
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5)
    return `Python pickle (protocol ${bytes[1]}), never unpickled`;
  if (bytes.length >= 2 && bytes[0] === 0x04 && bytes[1] === 0x08) return 'Ruby Marshal 4.8, never loaded';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0xaced0005)
    return 'Java serialization stream, never deserialized';
  return undefined;
}
