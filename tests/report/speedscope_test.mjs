// tests/report/speedscope_test.mjs — hotloop's speedscope output against speedscope's own
// file-format schema (npm package speedscope: dist/release/file-format-schema.json, checked
// with ajv) and speedscope's own importer: the speedscope app from the same package, served
// to headless Chromium from disk (no network), opens the file and shows its name.
import fs from 'fs';
import path from 'path';
import { browser, check, done, hotloop, require, synth } from './lib.mjs';

const db = synth('mixed.db', ['--samples', '20000', '--stacks', '500', '--functions', '120',
  '--threads', '3', '--processes', '2', '--mixed']);
const file = path.join(path.dirname(db), 'profile.speedscope.json');
hotloop(['report', db, '--format', 'speedscope', '--title', 'hotloop speedscope test', '-o', file]);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));

// The schema.
const release = path.join(path.dirname(require.resolve('speedscope/package.json')), 'dist', 'release');
const schema = JSON.parse(fs.readFileSync(path.join(release, 'file-format-schema.json'), 'utf8'));
const Ajv = require('ajv');
const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);
check(validate(profile), 'valid against file-format-schema.json', JSON.stringify(validate.errors || []).slice(0, 1000));
// A broken file must fail the same check (the check can fail).
const broken = structuredClone(profile);
broken.profiles[0].type = 'sampledd';
check(!validate(broken), 'a broken file is refused by the schema');
check(profile.profiles.length === 6, 'one profile per thread', String(profile.profiles.length));

// The importer.
const ctx = await browser();
const page = await ctx.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
await page.route('http://speedscope.test/**', async (route) => {
  const name = new URL(route.request().url()).pathname.slice(1);
  if (name === 'profile.json') return route.fulfill({ body: fs.readFileSync(file), contentType: 'application/json' });
  const local = path.join(release, name);
  if (!local.startsWith(release) || !fs.existsSync(local)) return route.fulfill({ status: 404 });
  const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' }[path.extname(local)] || 'application/octet-stream';
  return route.fulfill({ body: fs.readFileSync(local), contentType: type });
});
await page.goto('http://speedscope.test/index.html#profileURL=' + encodeURIComponent('http://speedscope.test/profile.json'));
let title = '';
try {
  await page.waitForFunction(() => document.title !== 'speedscope', null, { timeout: 60000 });
  title = await page.title();
} catch (e) {
  title = 'timeout: ' + (await page.title());
}
check(title === 'hotloop speedscope test - speedscope', 'speedscope imports the file', title);
const body = await page.evaluate(() => document.body.innerText);
check(!/Something went wrong/.test(body), 'no import error', body.slice(0, 300));
check(errors.length === 0, 'no page errors', errors.join('; '));
await ctx.close();
done();
