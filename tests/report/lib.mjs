// tests/report/lib.mjs — helpers of the node-based report tests: the binaries, synthetic
// stores, headless Chromium (Debian's, through playwright-core), checks and the closing line.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { createRequire } from 'module';

export const require = createRequire(path.join(process.env.NODE_MODULES, 'x.js'));
export const HOTLOOP = process.env.HOTLOOP_BIN || 'build/hotloop';
export const SYNTH = process.env.HOTLOOP_SYNTH || 'build/hotloop-synth';
export const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl_report_node.'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

let passed = 0, failed = 0;
export function check(cond, what, detail = '') {
  if (cond) passed++;
  else { failed++; console.log(`FAIL: ${what}${detail ? ': ' + detail : ''}`); }
}
export function done() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

export function synth(name, args) {
  const file = path.join(dir, name);
  execFileSync(SYNTH, [file, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return file;
}
export function hotloop(args, { allow = [0] } = {}) {
  try {
    return execFileSync(HOTLOOP, args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'inherit'] });
  } catch (e) {
    if (allow.includes(e.status)) return e.stdout;
    throw e;
  }
}

// Debian's chromium, headless, with a fresh profile directory and nothing that reaches the
// network on its own.
export async function browser() {
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(dir, 'chromium.'));
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A PNG's pixels (8-bit RGB or RGBA, non-interlaced, as Chromium writes screenshots):
// enough to say whether a screenshot shows anything.
export function pngPixels(buf) {
  const zlib = require('zlib');
  let pos = 8, width = 0, height = 0, channels = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      channels = { 2: 3, 6: 4 }[data[9]];
      if (data[8] !== 8 || !channels || data[12]) throw new Error('unexpected PNG layout');
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels, out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y ? out[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 255;
    }
  }
  return { width, height, channels, data: out };
}

// How many distinct colors a screenshot has (sampled): 1 means an empty picture.
export function distinctColors(png) {
  const { width, height, channels, data } = pngPixels(png), seen = new Set();
  for (let y = 0; y < height; y += 3)
    for (let x = 0; x < width; x += 3) {
      const i = (y * width + x) * channels;
      seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
  return seen.size;
}
