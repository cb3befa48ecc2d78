import { RequestError } from "../errors.ts";

/** What the one SOF segment of a JPEG says. */
export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  /** EXIF orientation (1–8) from an APP1 Exif segment before the SOF; 1 when there is none. */
  orientation: number;
}

const SOI = 0xd8, EOI = 0xd9, SOS = 0xda, TEM = 0x01;
/** SOF markers jpeg-js decodes: baseline, extended sequential and progressive Huffman (8-bit). */
const DECODABLE_SOF = new Set([0xc0, 0xc1, 0xc2]);
/** Every SOF marker: C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const isRst = (m: number) => m >= 0xd0 && m <= 0xd7;

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === SOI && bytes[2] === 0xff;
}

function corrupt(message: string): RequestError {
  return new RequestError(422, "undecodable_image", `the JPEG is invalid: ${message}`);
}

interface Segment {
  marker: number;
  /** Offset of the segment's payload (after the 2-byte length). */
  start: number;
  end: number;
}

/**
 * Walks marker segments from `offset`; returns the next one, or the EOI as a zero-length segment.
 * Fill bytes (0xFF runs) before a marker are skipped.
 */
function nextSegment(bytes: Uint8Array, view: DataView, offset: number): Segment {
  if (bytes[offset] !== 0xff) throw corrupt(`expected a marker at byte ${offset}`);
  let at = offset;
  while (bytes[at] === 0xff && at < bytes.length) at++;
  if (at >= bytes.length) throw corrupt("cut short: no EOI marker");
  const marker = bytes[at];
  if (marker === EOI || marker === TEM) return { marker, start: at + 1, end: at + 1 };
  if (marker === SOI || isRst(marker) || marker === 0x00) {
    throw corrupt(`unexpected marker 0xFF${marker.toString(16)} at byte ${at - 1}`);
  }
  if (at + 3 > bytes.length) throw corrupt("cut short inside a segment header");
  const length = view.getUint16(at + 1);
  const end = at + 1 + length;
  if (length < 2 || end > bytes.length) throw corrupt(`segment 0xFF${marker.toString(16)} is cut short`);
  return { marker, start: at + 3, end };
}

function readSof(bytes: Uint8Array, view: DataView, segment: Segment): JpegHeader {
  if (!DECODABLE_SOF.has(segment.marker)) {
    throw corrupt(`coding 0xFF${segment.marker.toString(16)} is not supported (baseline or progressive Huffman only)`);
  }
  const { start, end } = segment;
  const components = bytes[start + 5];
  if (end - start !== 6 + 3 * components || bytes[start] !== 8) throw corrupt("bad SOF segment");
  const height = view.getUint16(start + 1);
  const width = view.getUint16(start + 3);
  if (width < 1 || height < 1) throw corrupt(`SOF size ${width}×${height} has no pixels (DNL is not supported)`);
  return { width, height, components, orientation: 1 };
}

/** Reads the SOF that precedes the first scan, walking only the segments before it (cheap: for limits). */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 2;
  let orientation = 1;
  while (true) {
    const segment = nextSegment(bytes, view, offset);
    if (isSof(segment.marker)) return { ...readSof(bytes, view, segment), orientation };
    if (segment.marker === SOS || segment.marker === EOI) throw corrupt("no SOF segment before the image data");
    if (segment.marker === 0xe1) orientation = exifOrientation(bytes, view, segment) ?? orientation;
    offset = segment.end;
  }
}

/**
 * Checks a whole JPEG before the decoder sees it: exactly one SOF and it precedes every scan, every
 * segment complete, every scan's entropy-coded data followed by a marker, and an EOI at the end — so a
 * file cut short is an error instead of blocks the decoder would leave blank.
 */
export function validateJpeg(bytes: Uint8Array): JpegHeader {
  const header = readJpegHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 2;
  let frames = 0;
  let scans = 0;
  while (true) {
    const segment = nextSegment(bytes, view, offset);
    if (segment.marker === EOI) break;
    if (isSof(segment.marker) && ++frames > 1) throw corrupt("more than one SOF segment");
    offset = segment.end;
    if (segment.marker === SOS) {
      if (frames === 0) throw corrupt("image data before the SOF segment");
      scans++;
      offset = endOfEntropyData(bytes, offset);
    }
  }
  if (scans === 0) throw corrupt("no SOS segment: the image has no data");
  return header;
}

/** The offset of the first marker after entropy-coded data (skipping stuffed 0xFF00 and RSTn). */
function endOfEntropyData(bytes: Uint8Array, from: number): number {
  let at = from;
  while (true) {
    at = bytes.indexOf(0xff, at);
    if (at < 0 || at + 1 >= bytes.length) throw corrupt("cut short inside the image data: no EOI marker");
    const next = bytes[at + 1];
    if (next === 0x00 || isRst(next)) at += 2;
    else if (next === 0xff) at += 1;
    else return at;
  }
}

/** EXIF orientation (tag 0x0112 in IFD0) from an APP1 segment, or undefined when it has none. */
function exifOrientation(bytes: Uint8Array, view: DataView, segment: Segment): number | undefined {
  const { start, end } = segment;
  const exif = [0x45, 0x78, 0x69, 0x66, 0, 0];
  if (end - start < 14 || !exif.every((b, i) => bytes[start + i] === b)) return undefined;
  const tiff = start + 6;
  const little = bytes[tiff] === 0x49 && bytes[tiff + 1] === 0x49;
  if (!little && !(bytes[tiff] === 0x4d && bytes[tiff + 1] === 0x4d)) return undefined;
  const u16 = (at: number) => view.getUint16(at, little);
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return undefined;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > end) return undefined;
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}
