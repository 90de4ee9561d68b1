/** Width and height in pixels. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

/** How much of a base64 image is decoded to find its size: PNG, GIF and WebP say it in their first bytes; JPEG's SOF may follow EXIF. */
const HEAD_BASE64_CHARS = 96 * 1024;

/**
 * The pixel size of a base64 PNG, JPEG, GIF or WebP, read from its header (only its first
 * ~72 KiB are decoded), or undefined when the bytes are none of those or the header is not there.
 * Pure.
 */
export function imageSize(base64: string): Size | undefined {
  const head = base64.slice(0, HEAD_BASE64_CHARS - (HEAD_BASE64_CHARS % 4));
  const b = Buffer.from(head, "base64");
  if (b.length < 26) return undefined;
  if (b.readUInt32BE(0) === 0x89504e47) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.toString("latin1", 0, 4) === "GIF8") return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return webpSize(b);
  if (b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  return undefined;
}

function webpSize(b: Buffer): Size | undefined {
  const chunk = b.toString("latin1", 12, 16);
  if (chunk === "VP8X" && b.length >= 30) return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  if (chunk === "VP8L" && b.length >= 25) {
    const bits = b.readUInt32LE(21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
  }
  if (chunk === "VP8 " && b.length >= 30) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  return undefined;
}

/** The first start-of-frame marker's size (SOF0..SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Buffer): Size | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { width: b.readUInt16BE(i + 7), height: b.readUInt16BE(i + 5) };
    i += 2 + length;
  }
  return undefined;
}
