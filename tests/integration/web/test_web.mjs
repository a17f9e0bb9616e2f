// The demo web player (examples/web) in Debian's headless chromium against the REAL streamd on
// a loopback port: sign in through the page, pick a profile, browse, open a title and play it
// with hls.js and with dash.js (playback starts, seek near the end, `ended`, no player errors,
// no page errors), and the static-file route's rules (MIME, index, traversal, API priority).
// Each view's player events (examples/web/events.js) reach the event log (POST /v1/events):
// read from the daemon's SQLite file with Python's sqlite3 module. Only the ingest's answer
// acknowledges a batch: a captive portal's or a proxy's answers (a Playwright route stands in
// for them) leave it queued, streamd's problem+json refusal drops it.
// The title is made playable by tools/seed_demo_media.py (ffmpeg source -> tus upload ->
// transcode job -> asset; a test card and a subscription for the demo account), the same path
// `make run` takes; so is the catalog's artwork (tools/demo_art.py into the served
// examples/web/static/art/, gitignored): the browse grid's posters must load. The seed also
// adds two subtitle tracks (en, fr) whose cues it prints: the player's subtitles menu must show
// the French one's cue at the playhead, with hls.js and with dash.js, and Off must hide it.
//
// usage: node test_web.mjs --streamd PATH --root REPO_ROOT [--chromium /usr/bin/chromium]

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const root = args.root;
const TITLE = 'lantern-road';
const work = mkdtempSync(join(tmpdir(), 'libstream-web-'));
let daemon, base, cred, browser, context, seeded;
const tokenFile = join(work, 'operator.token');
const catalogFile = join(root, 'examples', 'data', 'demo-catalog.json');
const artDir = join(root, 'examples', 'web', 'static', 'art');

/* tools/demo_art.py: the catalog's artwork into `out`; returns its log (stderr). */
function demoArt(out) {
  const r = spawnSync('/usr/bin/python3', [join(root, 'tools', 'demo_art.py'), '--catalog',
    catalogFile, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  assert.equal(r.status, 0, `demo_art.py: ${r.stderr}`);
  return r.stderr;
}

function startStreamd() {
  writeFileSync(tokenFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  daemon = spawn(args.streamd, [
    '--listen-address', '127.0.0.1', '--port', '0', '--data-dir', join(work, 'data'),
    '--operator-token-file', tokenFile, '--access-log', join(work, 'access.log'),
    '--web-root', join(root, 'examples', 'web'), '--seed-demo',
    '--demo-catalog', catalogFile,
    // Every sign-in of these tests comes from 127.0.0.1: no per-address limit (the limits are
    // tested in tests/integration; the per-account one stays on).
    '--login-address-burst', '0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const errLines = [];
  createInterface({ input: daemon.stderr }).on('line', (l) => {
    errLines.push(l);
    if (errLines.length > 200) errLines.shift();
  });
  daemon.errLines = errLines;
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: daemon.stdout });
    daemon.once('error', reject);
    daemon.once('exit', (code) =>
      reject(new Error(`streamd exited (${code}) before it listened:\n${errLines.join('\n')}`)));
    lines.on('line', (l) => {
      const ev = JSON.parse(l);
      if (ev.event === 'listening') base = `http://127.0.0.1:${ev.port}`;
      if (ev.event === 'demo') {
        cred = { email: ev.email, password: ev.password };
        resolve();
      }
    });
  });
}

before(async () => {
  // The artwork `make run` generates, into the web root streamd serves (existing files kept).
  execFileSync('/usr/bin/python3', [join(root, 'tools', 'demo_art.py'), '--catalog', catalogFile,
    '--out', artDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  await startStreamd();
  // The title becomes playable through the upload + job path (prints its progress on stderr).
  // Its stdout: {title_id, asset_id, subtitles: [{language, name, default, cues}]}.
  seeded = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'tools', 'seed_demo_media.py'),
    '--url', base, '--operator-token-file', tokenFile,
    '--credentials', join(work, 'data', 'demo-credentials.json'), '--title', TITLE,
    '--timeout', '240'], { stdio: ['ignore', 'pipe', 'inherit'] }).toString());
  browser = await chromium.launch({
    executablePath: args.chromium || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
  context = await browser.newContext();
});

after(async () => {
  if (browser) await browser.close();
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  rmSync(work, { recursive: true, force: true });
});

// A test that failed half-way leaves its page open: closed before the next test starts, so
// that its player (timers, progress saves) cannot act during the next one.
afterEach(async () => {
  if (context) for (const p of context.pages()) await p.close();
});

/* A page that records uncaught errors, failed requests and artwork that is not served. */
async function newPage(path) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      page.problems.push(`console: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    if (!/net::ERR_ABORTED/.test(r.failure()?.errorText || ''))
      page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (/\/static\/art\//.test(r.url()) && r.status() !== 200 && r.status() !== 304)
      page.problems.push(`artwork ${r.url()}: ${r.status()}`);
    if (r.status() === 404 && new URL(r.url()).origin === new URL(base).origin &&
        !new URL(r.url()).pathname.startsWith('/v1/'))
      page.problems.push(`page resource not found: ${r.url()}`); // e.g. /favicon.ico
  });
  await page.goto(base + path);
  return page;
}

/* The page's video element and player state, for a failure message. */
function mediaState(page) {
  return page.evaluate(() => {
    const v = document.querySelector('video');
    if (!v) return 'no video element';
    const ranges = [];
    for (let i = 0; i < v.buffered.length; i++) ranges.push([v.buffered.start(i), v.buffered.end(i)]);
    return JSON.stringify({ currentTime: v.currentTime, duration: v.duration, paused: v.paused,
      ended: v.ended, seeking: v.seeking, readyState: v.readyState, buffered: ranges,
      error: v.error && v.error.message, events: window.__player && window.__player.events,
      errors: window.__player && window.__player.errors });
  }).catch((e) => `(page state unavailable: ${e.message})`);
}

async function signIn(page) {
  await page.fill('input[name=email]', cred.email);
  await page.fill('input[name=password]', cred.password);
  await page.click('#login-form button[type=submit]');
  await page.click('.profile >> text=Demo');
  await page.waitForSelector('.row .tile');
}

/* dropEnded: the browser's own `ended` event is swallowed before the player sees it (the state
 * Chromium once left a dash.js run in: ended and paused, no event); the player must notice the
 * end by itself. */
async function playThrough(kind, { dropEnded = false } = {}) {
  const page = await newPage(`/?player=${kind}`);
  await signIn(page);
  await page.click(`.tile[data-id="${TITLE}"] >> nth=0`);
  await page.waitForSelector('.title-page .play');
  assert.equal(await page.textContent('.title-page .name'), 'Lantern Road');
  await page.click('.title-page .play');
  // Playback starts: the clock moves past 1 s.
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return (v && v.currentTime > 1) || (window.__player && window.__player.failed);
  }, null, { timeout: 60000 });
  let st = await page.evaluate(() => window.__player);
  const st0 = st;
  assert.ok(!st.failed, `playback did not start: ${st.failed}`);
  assert.equal(st.kind, kind);
  assert.match(st.session[kind === 'dash' ? 'dash_url' : 'hls_url'], /\/v1\/media\//);
  await checkSubtitles(page, kind);
  // Seek near the end (once all of it is buffered, so the seek lands in data) and play to
  // `ended`.
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    const b = v.buffered;
    return b.length > 0 && b.end(b.length - 1) >= v.duration - 0.25;
  }, null, { timeout: 60000 });
  // The end is saved as the whole duration (a title watched to its end leaves Continue
  // watching; the next tests start it from 0).
  const endSaved = page.waitForRequest((r) => {
    if (!r.url().endsWith('/v1/progress') || r.method() !== 'PUT') return false;
    const w = JSON.parse(r.postData() || '{}');
    return w.title_id === TITLE && w.position_s === w.duration_s;
  }, { timeout: 90000 }).catch((e) => e);
  if (dropEnded) {
    await page.evaluate(() => {
      window.__dropEnded = (e) => {
        if (e.isTrusted) e.stopImmediatePropagation();
      };
      document.addEventListener('ended', window.__dropEnded, true);
    });
  }
  await page.evaluate(() => {
    const v = document.querySelector('video');
    v.currentTime = Math.max(0, v.duration - 1.5);
  });
  await page.waitForFunction(() => window.__player.ended, null, { timeout: 60000 }).catch(async (e) => {
    throw new Error(`${kind}: no ended after the seek: ${await mediaState(page)} (${e.message})`);
  });
  st = await page.evaluate(() => ({
    errors: window.__player.errors,
    notices: window.__player.notices,
    duration: document.querySelector('video').duration,
    currentTime: document.querySelector('video').currentTime,
    width: document.querySelector('video').videoWidth,
  }));
  // Every player error fails the test, except hls.js's stall notices: non-fatal events that say
  // the clock waited for data (they come and go with the machine's load, not with the stream).
  const stalls = new Set(['bufferStalledError', 'bufferNudgeOnStall', 'bufferSeekOverHole']);
  const notices = st.errors.filter((e) => kind === 'hls' && !e.fatal && stalls.has(e.details));
  if (notices.length) console.log(`# ${kind}: stall notices (not failures): ${JSON.stringify(notices)}`);
  assert.deepEqual(st.errors.filter((e) => !notices.includes(e)), [], `${kind} reported errors`);
  if (dropEnded) {
    await page.evaluate(() => document.removeEventListener('ended', window.__dropEnded, true));
    assert.deepEqual(st.notices.map((n) => n.type), ['ended-event-missing'], JSON.stringify(st));
  } else if (st.notices.length) {
    console.log(`# ${kind}: player notices: ${JSON.stringify(st.notices)}`);
  }
  assert.ok(st.duration > 5 && st.duration < 7, `duration ${st.duration}`);
  assert.ok(st.currentTime > st.duration - 0.5, `ended at ${st.currentTime} of ${st.duration}`);
  assert.ok(st.width >= 640, `decoded video ${st.width} px wide`);
  const end = await endSaved;
  assert.ok(!(end instanceof Error), `the end was not saved: ${end.message}`);
  assert.ok(Math.abs(JSON.parse(end.postData()).duration_s - st.duration) < 1, end.postData());
  // Leaving the player ends the session (DELETE), then the page has had no errors at all.
  await page.click('.player .back');
  await page.waitForSelector('.title-page .play');
  // The view's player events are in the event log (the player flushed them when it stopped).
  const viewId = await page.evaluate(() => window.__player.viewId);
  assert.ok(viewId, 'the player has a view id');
  await page.waitForFunction(() => window.__player.viewEvents && window.__player.viewEvents.closed,
    null, { timeout: 20000 });
  await checkViewEvents(viewId, await page.evaluate(() => window.__player.viewEvents.sent));
  assert.deepEqual(page.problems, []);
  await page.close();
  checkCmcd(kind, st0.session.session_id);
}

/* CMCD (CTA-5004 v1): the player sent its session id, the title and the object type in the
 * query of every media request, and the origin logged them (origin_cmcd.h): the access log has
 * the session's manifest, init and media segment requests with sid, cid, ot, sf, st, and no
 * CMCD the origin refused. */
function checkCmcd(kind, sid) {
  const lines = readFileSync(join(work, 'access.log'), 'utf8').split('\n').filter((l) => l)
    .map((l) => JSON.parse(l)).filter((l) => l.route === '/v1/media/{path}');
  assert.deepEqual(lines.filter((l) => l.cmcd_error), [], 'CMCD the origin refused');
  const mine = lines.filter((l) => l.cmcd && l.cmcd.sid === sid);
  const seen = [...new Set(mine.map((l) => l.cmcd.ot))];
  console.log(`# ${kind} CMCD: ${mine.length} media requests of session ${sid}, ot ${seen}`);
  // What the players send (hls.js 1.7.4, dash.js 5.2.1): ot=m on manifests and playlists, ot=i
  // on init segments, ot=v / ot=a on media segments (hls.js: ot=tt on WebVTT segments; dash.js:
  // ot=i on a side-loaded .vtt).
  for (const ot of ['m', 'i', 'v', 'a']) assert.ok(seen.includes(ot), `${kind}: no ot=${ot} in ${seen}`);
  for (const l of mine) {
    assert.equal(l.cmcd.cid, TITLE, JSON.stringify(l));
    assert.equal(l.status === 200 || l.status === 206 || l.status === 304, true, JSON.stringify(l));
  }
  const segs = mine.filter((l) => l.cmcd.ot === 'v' || l.cmcd.ot === 'a');
  for (const l of segs) {
    assert.match(l.path, /\.m4s$/, JSON.stringify(l));
    assert.equal(l.cmcd.sf, kind === 'dash' ? 'd' : 'h', JSON.stringify(l));
    assert.equal(l.cmcd.st, 'v', JSON.stringify(l));
    assert.ok(l.cmcd.br > 0 && l.cmcd.bl >= 0, JSON.stringify(l));
  }
  assert.ok(segs.some((l) => l.cmcd.su), `${kind}: no startup (su) segment request`);
  for (const l of mine.filter((x) => x.cmcd.ot === 'i')) assert.match(l.path, /\.(mp4|vtt)$/);
}

/* The text tracks of the page's video: [{lang, mode, cues: [{start, end, text}] (active)}]. */
function textTracks() {
  return [...document.querySelector('video').textTracks].map((t) => ({
    lang: t.language, label: t.label, mode: t.mode,
    cues: [...(t.activeCues || [])].map((c) => ({ start: c.startTime, end: c.endTime, text: c.text })),
  }));
}

/* The subtitles menu (Off by default): French shows its cue at the playhead, then Off. */
async function checkSubtitles(page, kind) {
  const fr = seeded.subtitles.find((t) => t.language === 'fr');
  assert.ok(fr && fr.cues.length, `the seed printed the fr track: ${JSON.stringify(seeded)}`);
  await page.waitForSelector('.player .cc-button', { state: 'visible', timeout: 30000 });
  assert.equal(await page.textContent('.player .cc-current'), 'Off');
  assert.ok(!(await page.evaluate(textTracks)).some((t) => t.mode === 'showing'), 'none showing');
  // The menu lists Off and the two tracks by name; keyboard: the button opens it on the checked
  // item, ArrowDown moves, Escape closes.
  await page.focus('.player .cc-button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.player .cc-menu:not([hidden])');
  const entries = await page.$$eval('.player .cc-menu [role=menuitemradio]', (b) =>
    b.map((e) => [e.textContent, e.dataset.lang, e.getAttribute('aria-checked')]));
  assert.deepEqual(entries, [['Off', 'off', 'true'], ['English', 'en', 'false'],
    [fr.name, 'fr', 'false']], `${kind} menu`);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.lang), 'off');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.lang), 'en');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.player .cc-menu', { state: 'hidden' });
  assert.ok(await page.evaluate(() => document.activeElement.classList.contains('cc-button')));
  // Choose French (a click): the video's fr text track is showing; paused (a still playhead),
  // its active cue is the seeded cue at the playhead.
  await page.click('.player .cc-button');
  await page.click('.player .cc-menu [data-lang=fr]');
  await page.waitForSelector('.player .cc-menu', { state: 'hidden' });
  assert.equal(await page.textContent('.player .cc-current'), fr.name);
  // (dash.js adds a track's cues around the playhead as the clock moves: first a cue while
  // playing, then paused.)
  const frCue = () => [...document.querySelector('video').textTracks]
    .some((t) => t.language === 'fr' && t.mode === 'showing' && t.activeCues && t.activeCues.length > 0);
  await page.waitForFunction(frCue, null, { timeout: 30000 }).catch(() => {}); // checked below
  await page.evaluate(() => document.querySelector('video').pause());
  await page.waitForFunction(() => [...document.querySelector('video').textTracks]
    .some((t) => t.language === 'fr' && t.mode === 'showing' && t.activeCues &&
      t.activeCues.length > 0), null, { timeout: 30000 }).catch(async (e) => {
    const v = await page.evaluate(() => ({ at: document.querySelector('video').currentTime,
      subs: window.__player.subtitles, errors: window.__player.errors }));
    throw new Error(`${kind}: no fr cue showing: ${JSON.stringify(await page.evaluate(textTracks))} ` +
      `${JSON.stringify(v)} (${e.message})`);
  });
  const at = await page.evaluate(() => document.querySelector('video').currentTime);
  const tracks = await page.evaluate(textTracks);
  const showing = tracks.filter((t) => t.mode === 'showing');
  assert.deepEqual(showing.map((t) => t.lang), ['fr'], JSON.stringify(tracks));
  const want = fr.cues.filter(([a, b]) => a <= at && at < b).map(([, , text]) => text);
  assert.ok(want.length, `a seeded cue covers ${at}`);
  assert.deepEqual(showing[0].cues.map((c) => c.text), want, `${kind} at ${at}: ${JSON.stringify(tracks)}`);
  // Remembered for the profile.
  const stored = await page.evaluate(() => {
    const profile = JSON.parse(sessionStorage.getItem('libstream.session')).profile_id;
    return [profile, localStorage.getItem(`libstream.subtitles.${profile}`)];
  });
  assert.ok(stored[0], 'a profile is chosen');
  assert.equal(stored[1], 'fr');
  // Off: no track showing; the menu says so.
  await page.click('.player .cc-button');
  await page.click('.player .cc-menu [data-lang=off]');
  await page.waitForFunction(() => ![...document.querySelector('video').textTracks]
    .some((t) => t.mode === 'showing'), null, { timeout: 10000 });
  assert.equal(await page.textContent('.player .cc-current'), 'Off');
  assert.equal(await page.getAttribute('.player .cc-menu [data-lang=off]', 'aria-checked'), 'true');
  await page.evaluate(() => document.querySelector('video').play());
}

/* The event log rows of one view, in log order: [{id, type}] (python3's sqlite3, read-only). */
const TYPES = [null, 'viewinit', 'playrequest', 'play', 'playing', 'pause', 'seeking', 'seeked',
  'rebufferstart', 'rebufferend', 'renditionchange', 'error', 'ended', 'heartbeat'];
function viewEvents(viewId) {
  const py = 'import json,sqlite3,sys\n' +
    'c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro",uri=True,timeout=30)\n' +
    'print(json.dumps(c.execute("SELECT id,type FROM event_log WHERE view_id=? ORDER BY seq",' +
    '(sys.argv[2],)).fetchall()))';
  const out = execFileSync('/usr/bin/python3', ['-c', py, join(work, 'data', 'streamd.db'), viewId]);
  return JSON.parse(out.toString()).map(([id, type]) => ({ id, type: TYPES[type] }));
}

/* The view's events arrive (the player flushes them when it stops), each once, in order. */
async function checkViewEvents(viewId, sent) {
  let rows = [];
  for (let i = 0; i < 100; i++) {
    rows = viewEvents(viewId);
    if (rows.some((r) => r.type === 'ended')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const types = rows.map((r) => r.type);
  assert.deepEqual(types.slice(0, 2), ['viewinit', 'playrequest'], types.join(' '));
  assert.ok(types.indexOf('playing') > 1, `playing: ${types.join(' ')}`);
  assert.ok(types.indexOf('ended') > types.indexOf('playing'), `ended: ${types.join(' ')}`);
  assert.ok(!types.includes('error'), types.join(' '));
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'each event once');
  // What the page saw acknowledged is exactly what is stored.
  assert.deepEqual(rows.map((r) => r.id).sort(), sent.map((e) => e.id).sort());
  console.log(`# view ${viewId}: ${types.join(' ')}`);
}

/* One request, body read (an unread body would hold its connection). */
async function get(path, init) {
  const r = await fetch(base + path, init);
  const text = await r.text();
  return { status: r.status, h: (n) => r.headers.get(n), text };
}

test('static files: index, MIME types, cache policy, API priority, no traversal', async () => {
  let r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.h('content-type'), /^text\/html/);
  assert.equal(r.h('cache-control'), 'no-cache');
  assert.match(r.h('content-security-policy'), /default-src 'self'/);
  assert.match(r.text, /<script type="module" src="app.js">/);
  const length200 = r.h('content-length');
  assert.equal(Number(length200), Buffer.byteLength(r.text));
  r = await get('/', { headers: { 'If-None-Match': r.h('etag') } });
  assert.equal(r.status, 304);
  // RFC 9110 8.6: a 304's Content-Length, if any, is the 200's (libmicrohttpd writes one).
  assert.equal(r.h('content-length'), length200);
  assert.equal(r.h('cache-control'), 'no-cache');
  r = await get('/app.js');
  assert.match(r.h('content-type'), /^text\/javascript/);
  assert.equal(r.h('cache-control'), 'max-age=60');
  assert.equal(r.h('x-content-type-options'), 'nosniff');
  r = await get('/vendor/hls.min.js', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.match(r.h('content-type'), /^text\/javascript/);
  r = await get('/style.css');
  assert.match(r.h('content-type'), /^text\/css/);
  // API routes keep priority and their answers; unknown API paths stay problem+json 404.
  r = await get('/healthz');
  assert.equal(r.h('cache-control'), 'no-store');
  r = await get('/v1/nope');
  assert.equal(r.status, 404);
  assert.match(r.h('content-type'), /problem\+json/);
  r = await get('/index.html', { method: 'POST' });
  assert.equal(r.status, 404);
  // Not served: package files, node_modules, dot segments even when they resolve inside the
  // root, and escapes to files of a served type outside it (each of these exists on disk).
  const outside = 'tests/media/parse_manifests.mjs'; // <repo>/<outside>; web_root is <repo>/examples/web
  for (const p of ['/package.json', '/node_modules/hls.js/dist/hls.min.js',
    '/%2e%2e/web/app.js', `/%2e%2e/%2e%2e/${outside}`,
    `/vendor/..%2f..%2f..%2f${outside.replaceAll('/', '%2f')}`]) {
    r = await get(p);
    assert.equal(r.status, 404, p);
  }
  // fetch() removes dot segments itself; curl --path-as-is sends them as they are.
  for (const p of [`/../../${outside}`, '/vendor/../app.js', '/./app.js']) {
    const code = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}',
      '--path-as-is', base + p]).toString();
    assert.equal(code, '404', p);
  }
});

test('sign in, pick a profile, browse rows, sign out', async () => {
  const page = await newPage('/');
  await page.fill('input[name=email]', cred.email);
  await page.fill('input[name=password]', 'wrong password!');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  await signIn(page);
  const rows = await page.$$eval('.row h2', (hs) => hs.map((h) => h.textContent));
  assert.ok(rows.length >= 2, `rows: ${rows}`);
  assert.ok(await page.$(`.tile[data-id="${TITLE}"]`), 'the demo title is in a row');
  // The first row's first posters loaded (decoded, 2:3) and replaced the name placeholder.
  const posters = () => [...document.querySelector('.row').querySelectorAll('.tile')].slice(0, 3)
    .map((t) => {
      const img = t.querySelector('.art img');
      return { id: t.dataset.id, src: img && img.getAttribute('src'),
        complete: !!img && img.complete, w: img ? img.naturalWidth : 0,
        h: img ? img.naturalHeight : 0, hasImg: t.querySelector('.art').classList.contains('has-img') };
    });
  // Wait until each has loaded or failed (a failed one loses its img); the asserts say which.
  // (a function, not a string: the page's CSP has no 'unsafe-eval')
  await page.waitForFunction(() => [...document.querySelector('.row').querySelectorAll('.tile')]
    .slice(0, 3).every((t) => {
      const img = t.querySelector('.art img');
      return !img || !img.getAttribute('src') ||
        (img.complete && (t.querySelector('.art').classList.contains('has-img') || !img.naturalWidth));
    }), null, { timeout: 15000 });
  const art = await page.evaluate(posters);
  assert.ok(art.length > 0, 'the first row has tiles');
  for (const a of art) {
    assert.match(a.src || '(no img: it failed to load)', /^\/static\/art\/[a-z0-9-]+\.jpg$/, JSON.stringify(a));
    assert.ok(a.complete && a.w > 0, `poster not loaded: ${JSON.stringify(a)}`);
    assert.deepEqual([a.w, a.h, a.hasImg], [400, 600, true], JSON.stringify(a));
  }
  assert.match(await page.textContent('#who'), /Demo/);
  // Play is offered only where streamd says media is published ("playable"): the demo title
  // has an asset, static-orchard has none (no failing click on a dead Play button).
  await page.click(`.tile[data-id="${TITLE}"] >> nth=0`);
  await page.waitForSelector('.title-page .play');
  assert.equal(await page.isDisabled('.title-page .play'), false);
  await page.goto(`${base}/#/title/static-orchard`);
  await page.waitForSelector('.title-page .play');
  assert.equal(await page.textContent('.title-page .name'), 'Static Orchard');
  assert.equal(await page.isDisabled('.title-page .play'), true);
  assert.equal(await page.textContent('.title-page .play'), 'Not available yet');
  await page.goto(`${base}/#/`);
  await page.waitForSelector('.row .tile');
  await page.click('#sign-out');
  await page.waitForSelector('#login-form');
  assert.deepEqual(page.problems, []);
  await page.close();
});

/* Width and height from a JPEG's start-of-frame marker (null when it is no JPEG). */
function jpegSize(buf) {
  if (buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  for (let i = 2; i + 9 < buf.length;) {
    if (buf[i] !== 0xff) return null;
    const marker = buf[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
      return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
    i += 2 + buf.readUInt16BE(i + 2);
  }
  return null;
}

test('demo artwork: every catalog artwork URL is a served JPEG; the generator is exact', async () => {
  const catalog = JSON.parse(readFileSync(catalogFile, 'utf8'));
  const urls = new Map(); // URL -> kind (poster 400x600, the rest 1280x720)
  for (const t of catalog.titles)
    for (const [kind, url] of Object.entries(t.artwork || {})) urls.set(url, kind);
  assert.ok(urls.size >= 2 * catalog.titles.length, `${urls.size} artwork URLs`);
  const poster = catalog.titles.find((t) => t.id === TITLE).artwork.poster;
  const r = await fetch(base + poster);
  assert.equal(r.status, 200, poster);
  assert.equal(r.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(jpegSize(Buffer.from(await r.arrayBuffer())), [400, 600]);
  for (const url of urls.keys()) {
    const h = await get(url, { method: 'HEAD' });
    assert.equal(h.status, 200, url);
    assert.equal(h.h('content-type'), 'image/jpeg', url);
  }
  // Into an empty folder: exactly the catalog's files, each sized by its kind; a second run
  // leaves them alone (the web root may hold older files, so this is checked on a fresh one).
  const out = join(work, 'art');
  demoArt(out);
  const want = [...urls.keys()].map((u) => u.replace('/static/art/', '')).sort();
  assert.deepEqual(readdirSync(out).sort(), want);
  for (const [url, kind] of urls) {
    const file = join(out, url.replace('/static/art/', ''));
    assert.deepEqual(jpegSize(readFileSync(file)), kind === 'poster' ? [400, 600] : [1280, 720], url);
  }
  const mtime = statSync(join(out, want[0])).mtimeMs;
  assert.match(demoArt(out), /all \d+ images present/);
  assert.equal(statSync(join(out, want[0])).mtimeMs, mtime);
  assert.deepEqual(readdirSync(out).sort(), want);
});

test('hls.js plays the signed stream: start, seek, ended, no errors', async () => {
  await playThrough('hls');
});

test('dash.js plays the signed stream: start, seek, ended (the browser event lost), no errors', async () => {
  await playThrough('dash', { dropEnded: true });
});

/* Pause the player's video once its clock is past 2 s (which saves the position): in the page,
 * on the clock's own timeupdate, so that a slow machine cannot let the 6 s clip run to its end
 * first. Returns the time it paused at. */
async function pauseAfter2(page) {
  await page.waitForSelector('.player video', { state: 'attached' });
  await page.evaluate(() => {
    const v = document.querySelector('.player video');
    window.__pausedAt = 0;
    let playing = !v.paused && v.readyState >= 3; // the clock runs (not the start's seek)
    const pauseAt2 = () => {
      if (!playing || v.currentTime <= 2 || v.seeking) return;
      v.removeEventListener('timeupdate', pauseAt2);
      v.pause();
      window.__pausedAt = v.currentTime;
    };
    v.addEventListener('playing', () => {
      playing = true;
      pauseAt2();
    });
    v.addEventListener('timeupdate', pauseAt2);
    pauseAt2();
  });
  return (await page.waitForFunction(() => window.__pausedAt, null, { timeout: 60000 })).jsonValue();
}

test('resume position: a paused title shows in Continue watching and resumes there', async () => {
  const page = await newPage('/');
  await signIn(page);
  await page.click(`.tile[data-id="${TITLE}"] >> nth=0`);
  await page.click('.title-page .play');
  const saves = new Map(); // position_s -> HTTP status of its PUT /v1/progress
  let onSave = () => {};
  page.on('response', (r) => {
    if (!r.url().endsWith('/v1/progress') || r.request().method() !== 'PUT') return;
    saves.set(JSON.parse(r.request().postData() || '{}').position_s, r.status());
    onSave();
  });
  const pausedAt = await pauseAfter2(page);
  const position = Math.floor(pausedAt);
  assert.ok(position >= 2 && position <= 5, `paused at ${pausedAt}`); // 5 of 6 s: not finished
  // The pause's save (the position it saves) has its answer.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no PUT /v1/progress of ${position} s: ` +
      JSON.stringify([...saves]))), 30000);
    onSave = () => {
      if (!saves.has(position)) return;
      clearTimeout(timer);
      resolve();
    };
    onSave();
  });
  assert.equal(saves.get(position), 204);
  await page.click('.player .back');
  await page.goto(`${base}/#/`);
  await page.waitForSelector('.row .tile');
  await page.waitForFunction((id) => {
    const h = [...document.querySelectorAll('.row h2')].find((e) => e.textContent === 'Continue watching');
    return h && h.parentElement.querySelector(`.tile[data-id="${id}"]`);
  }, TITLE, { timeout: 10000 });
  // Playing it again starts at the saved position (resume_position_ms of POST /v1/playback).
  await page.click(`.row .tile[data-id="${TITLE}"] >> nth=0`);
  await page.click('.title-page .play');
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.currentTime > 0 && window.__player.session;
  }, null, { timeout: 60000 });
  const resumed = await page.evaluate(() => ({
    ms: window.__player.session.resume_position_ms,
    at: document.querySelector('video').currentTime,
  }));
  assert.equal(resumed.ms, position * 1000, 'resume_position_ms: the saved position');
  assert.ok(resumed.at >= resumed.ms / 1000 - 0.5, `started at ${resumed.at} s, resume ${resumed.ms} ms`);
  await page.click('.player .back');
  await page.waitForSelector('.title-page .play');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('progress saves: one in flight at a time, the newest position reaches the server last', async () => {
  const page = await newPage('/');
  await signIn(page);
  // Every PUT /v1/progress goes through this route; the first one is held (a slow answer) while
  // the player gets a newer position to save. `arrived`: positions in the order the server
  // gets them.
  const arrived = [];
  let held = null;
  let onHeld;
  const firstHeld = new Promise((r) => (onHeld = r));
  let onSecond;
  const secondSent = new Promise((r) => (onSecond = r));
  const answers = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/v1/progress') && r.request().method() === 'PUT') answers.push(r.status());
  });
  await page.route('**/v1/progress', async (route) => {
    const req = route.request();
    if (req.method() !== 'PUT') return route.continue();
    const p = JSON.parse(req.postData() || '{}').position_s;
    if (!held) {
      held = route;
      onHeld(p);
      return undefined;
    }
    onSecond(p);
    arrived.push(p);
    return route.continue();
  });
  await page.click(`.tile[data-id="${TITLE}"] >> nth=0`);
  await page.click('.title-page .play');
  await pauseAfter2(page);
  const first = await firstHeld; // the pause's save, held
  // A newer position: seek (while paused) elsewhere in the clip, play, pause again.
  const target = first >= 4 ? 1.3 : 4.3;
  await page.evaluate((t) => new Promise((resolve) => {
    const v = document.querySelector('.player video');
    v.addEventListener('seeked', () => v.play().then(() => {
      v.pause();
      resolve();
    }), { once: true });
    v.currentTime = t;
  }), target);
  const second = Math.floor(target);
  // The player queues it (the fix) or sends it at once (two PUTs in flight): whichever happens.
  await Promise.race([secondSent, page.waitForFunction((p) => {
    const s = window.__player.progress;
    return s && s.queued && s.queued.position_s === p;
  }, second, { timeout: 30000 })]);
  arrived.push(first);
  await held.continue();
  await page.waitForFunction(() => {
    const s = window.__player.progress;
    return !s || (!s.inFlight && !s.queued);
  }, null, { timeout: 30000 });
  for (let i = 0; i < 600 && (arrived.length < 2 || answers.length < 2); i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(arrived, [first, second], 'positions in the order the server got them');
  assert.deepEqual(answers, [204, 204]);
  await page.unroute('**/v1/progress');
  await page.click('.player .back');
  await page.waitForSelector('.title-page .play');
  assert.deepEqual(page.problems, []);
  await page.close();
});

/* The page's event sender (examples/web/events.js) of the view playing: ids queued and
 * acknowledged, events dropped, answers retried. */
function sender() {
  const v = window.__player.viewEvents;
  return { queue: v.queue.map((e) => e.id), sent: v.sent.map((e) => e.id), dropped: v.dropped,
    retried: v.retried, why: v.why };
}

/* Flush the view's events; 'answered' once the batch's answer is judged, or 'no answer' after
 * 10 s. */
function flushEvents(page) {
  return page.evaluate(() => Promise.race([
    window.__player.viewEvents.flush().then(() => 'answered'),
    new Promise((r) => setTimeout(() => r('no answer'), 10000)),
  ]));
}

test('player events: a captive portal\'s or a proxy\'s answers are retried, only the ingest acknowledges', async () => {
  const page = await newPage('/');
  await signIn(page);
  // Stand-ins for what answers POST /v1/events when the page is behind a captive portal or a
  // misconfigured proxy (a Playwright route: never streamd), each to one POST, in order.
  const standIns = [
    { why: 'a portal\'s 200 page', status: 200, contentType: 'text/html',
      body: '<!doctype html><title>Wi-Fi</title><p>Sign in to continue</p>' },
    // Its login page is a 200 text/html of this origin (the web app's index): followed, the
    // redirect would look like an acknowledgement.
    { why: 'a portal\'s 302 to its login page', status: 302,
      headers: { Location: '/?portal-login' }, body: '' },
    { why: 'a proxy\'s 404 page', status: 404, contentType: 'text/html',
      body: '<h1>Not Found</h1>' },
    { why: 'a proxy\'s own JSON', status: 200, contentType: 'application/json',
      body: '{"status":"ok"}' },
    { why: 'a 204', status: 204, body: '' },
  ];
  const posts = []; // [{to, ids}]: each POST /v1/events, who answered it, its event ids
  let refuse = false; // the next POST goes to streamd with a body it refuses (400 problem+json)
  // The POSTs after the stand-ins wait for this (a timer's flush must not reach streamd while the
  // stand-ins' verdicts are checked).
  let open;
  const opened = new Promise((r) => (open = r));
  const followed = [];
  page.on('request', (r) => {
    if (r.url().includes('portal-login')) followed.push(r.url());
  });
  await page.route('**/v1/events', async (route) => {
    const req = route.request();
    if (req.method() !== 'POST') return route.continue();
    const ids = JSON.parse(req.postData() || '{}').events.map((e) => e.id);
    if (posts.length < standIns.length) {
      const { why, ...answer } = standIns[posts.length];
      posts.push({ to: why, ids });
      return route.fulfill(answer);
    }
    await opened;
    if (refuse) {
      refuse = false;
      posts.push({ to: 'streamd, a body it refuses', ids });
      return route.continue({ postData: JSON.stringify({ events: 'not a list' }) });
    }
    posts.push({ to: 'streamd', ids });
    return route.continue();
  });
  await page.click(`.tile[data-id="${TITLE}"] >> nth=0`);
  await page.click('.title-page .play');
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return (v && v.currentTime > 1) || (window.__player && window.__player.failed);
  }, null, { timeout: 60000 });
  assert.ok(!(await page.evaluate(() => window.__player.failed)), 'playback started');
  await page.evaluate(() => document.querySelector('video').pause());
  const viewId = await page.evaluate(() => window.__player.viewId);
  // Each stand-in's answer leaves the batch queued, at the head, and resent with the next flush.
  let st = {};
  const trace = () => JSON.stringify({ posts, followed, st });
  for (let i = 0; i < 100 && posts.length < standIns.length; i++)
    assert.equal(await flushEvents(page), 'answered', `a flush got no answer (a redirect ` +
      `followed? a keepalive POST redirected under interception hangs) after ${trace()}`);
  st = await page.evaluate(sender);
  assert.equal(posts.length, standIns.length, trace());
  assert.deepEqual(st.sent, [], `a stand-in's answer taken for an acknowledgement: ${trace()}`);
  assert.equal(st.dropped, 0, `a stand-in's answer taken for a refusal: ${trace()}`);
  assert.ok(st.retried >= standIns.length, trace());
  assert.deepEqual(followed, [], 'the redirect was not followed');
  assert.ok(posts[0].ids.length >= 3, trace()); // viewinit, playrequest, play, ...
  for (const [i, p] of posts.entries()) {
    const prev = i ? posts[i - 1].ids : [];
    assert.deepEqual(p.ids.slice(0, prev.length), prev, `resent at the head: ${trace()}`);
  }
  const last = posts[posts.length - 1].ids;
  assert.deepEqual(st.queue.slice(0, last.length), last, `still queued: ${trace()}`);
  // Then the ingest's own answer acknowledges them.
  open();
  for (let i = 0; i < 10 && !last.every((id) => st.sent.includes(id)); i++) {
    assert.equal(await flushEvents(page), 'answered', `after ${trace()}`);
    st = await page.evaluate(sender);
  }
  assert.ok(last.every((id) => st.sent.includes(id)), `acknowledged by streamd: ${trace()}`);
  // streamd's own refusal (a 400 problem+json) still drops the batch for good.
  refuse = true;
  const before = posts.length;
  await page.evaluate(() => {
    window.__player.viewEvents.emit('heartbeat');
    return window.__player.viewEvents.flush();
  });
  st = await page.evaluate(sender);
  assert.equal(posts.length, before + 1, trace());
  const refused = posts[before].ids;
  assert.equal(posts[before].to, 'streamd, a body it refuses', trace());
  assert.equal(st.dropped, refused.length, `streamd's refusal drops the batch: ${trace()}`);
  assert.ok(!refused.some((id) => st.sent.includes(id) || st.queue.includes(id)), trace());
  // Leaving sends the rest; the log holds exactly the acknowledged events, each once.
  await page.unroute('**/v1/events');
  await page.click('.player .back');
  await page.waitForSelector('.title-page .play');
  await page.waitForFunction(() => window.__player.viewEvents.closed, null, { timeout: 20000 });
  st = await page.evaluate(sender);
  let rows = [];
  for (let i = 0; i < 50; i++) {
    rows = viewEvents(viewId);
    if (rows.length >= st.sent.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const ids = rows.map((r) => r.id);
  assert.deepEqual(rows.map((r) => r.type).slice(0, 2), ['viewinit', 'playrequest'], trace());
  assert.equal(new Set(ids).size, ids.length, 'each event once');
  assert.deepEqual([...ids].sort(), [...st.sent].sort(),
    `the log holds what was acknowledged: ${trace()}`);
  assert.ok(posts[0].ids.every((id) => ids.includes(id)),
    'the batch the portal answered is stored');
  console.log(`# events: ${posts.map((p) => `${p.to} (${p.ids.length})`).join(', ')}; ` +
    `last retry: ${st.why}`);
  assert.deepEqual(page.problems, []);
  await page.close();
});

/* The mail streamd wrote to its outbox (data/outbox/*.eml) for `to`, or null. */
function mailTo(to) {
  const dir = join(work, 'data', 'outbox');
  let names = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.eml')).sort();
  } catch {
    return null;
  }
  for (const n of names.reverse()) {
    const text = readFileSync(join(dir, n), 'utf8');
    if (text.includes(`\r\nTo: ${to}\r\n`)) return text;
  }
  return null;
}

test('forgotten password: the mailed link sets a new password, once', async () => {
  const email = `web-reset-${randomBytes(4).toString('hex')}@example.com`;
  const oldPw = 'old password 1', newPw = 'new password 2';
  const reg = await fetch(`${base}/v1/auth/register`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: oldPw }) });
  assert.equal(reg.status, 201);
  const page = await newPage('/');
  await page.click('#login-form a[href="#/forgot"]');
  await page.fill('#forgot-form input[name=email]', email);
  await page.click('#forgot-form button[type=submit]');
  await page.waitForSelector('#forgot-form .notice:not([hidden])');
  assert.match(await page.textContent('#forgot-form .notice'), /reset/i);
  // streamd answers before it writes the mail (its reset queue sends off the request path, so
  // the answer time does not tell known addresses from unknown ones): wait for the file.
  let mail = mailTo(email);
  for (let i = 0; i < 200 && !mail; i++) {
    await new Promise((r) => setTimeout(r, 50));
    mail = mailTo(email);
  }
  assert.ok(mail, 'streamd wrote the reset mail to data/outbox');
  const link = (mail.match(/https?:\/\/\S+#\/reset\?token=[A-Za-z0-9_-]+/) || [])[0];
  assert.ok(link && link.startsWith(`${base}/`), `a link to this server in the mail: ${link}`);
  // The link opens the new-password form; mismatched fields never reach the server.
  await page.goto(link);
  await page.fill('#reset-form input[name=password]', newPw);
  await page.fill('#reset-form input[name=again]', 'something else');
  await page.click('#reset-form button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  await page.fill('#reset-form input[name=again]', newPw);
  await page.click('#reset-form button[type=submit]');
  await page.waitForSelector('#login-form .notice:not([hidden])');
  // Sign in with the new password: the profile picker (a new account has no profile yet).
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', newPw);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('.profiles', { state: 'attached' });
  await page.waitForSelector('#nav', { state: 'visible' });
  // The same link a second time: refused, shown as an error, the password stays.
  await page.click('#sign-out');
  await page.waitForSelector('#login-form');
  await page.goto(link);
  await page.fill('#reset-form input[name=password]', 'third password 3');
  await page.fill('#reset-form input[name=again]', 'third password 3');
  await page.click('#reset-form button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  const login = await fetch(`${base}/v1/auth/login`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: newPw }) });
  assert.equal(login.status, 200);
  assert.deepEqual(page.problems, []);
  await page.close();
});

/* Sign a fresh account in through the page (it has no profile: the picker shows). */
async function freshAccount(page, password) {
  const email = `web-acct-${randomBytes(4).toString('hex')}@example.com`;
  const reg = await fetch(`${base}/v1/auth/register`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  assert.equal(reg.status, 201);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav', { state: 'visible' });
  return email;
}

async function loginStatus(email, password) {
  const r = await fetch(`${base}/v1/auth/login`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  return r.status;
}

test('account page: change password, sign out everywhere, delete the account', async () => {
  const page = await newPage('/');
  const pw1 = 'first password 1', pw2 = 'second password 2';
  const email = await freshAccount(page, pw1);
  await page.click('#account-link');
  await page.waitForSelector('.account .email');
  assert.equal(await page.textContent('.account .email'), email);
  // A wrong current password: an error, nothing changes.
  await page.fill('#password-form input[name=current]', 'not my password');
  await page.fill('#password-form input[name=password]', pw2);
  await page.fill('#password-form input[name=again]', pw2);
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await loginStatus(email, pw1), 200);
  // The right one: signed out here too, the new password works, the old one not.
  await page.fill('#password-form input[name=current]', pw1);
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#login-form .notice:not([hidden])');
  assert.match(await page.textContent('#login-form .notice'), /password was changed/);
  assert.equal(await loginStatus(email, pw1), 401);
  assert.equal(await loginStatus(email, pw2), 200);
  // Sign out everywhere: another session's refresh token stops working.
  const other = await (await fetch(`${base}/v1/auth/login`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: pw2 }) })).json();
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', pw2);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav', { state: 'visible' });
  await page.click('#account-link');
  await page.click('#logout-all');
  await page.waitForSelector('#login-form .notice:not([hidden])');
  const refreshed = await fetch(`${base}/v1/auth/refresh`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: other.refresh_token }) });
  assert.equal(refreshed.status, 401);
  // Delete: a wrong password is refused; the right one deletes, sign-in then fails.
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', pw2);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav', { state: 'visible' });
  await page.click('#account-link');
  await page.fill('#delete-form input[name=password]', 'not my password');
  await page.click('#delete-form button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await loginStatus(email, pw2), 200);
  await page.fill('#delete-form input[name=password]', pw2);
  await page.click('#delete-form button[type=submit]');
  await page.waitForSelector('#login-form .notice:not([hidden])');
  assert.match(await page.textContent('#login-form .notice'), /deleted/);
  assert.equal(await loginStatus(email, pw2), 401);
  assert.deepEqual(page.problems, []);
  await page.close();
});

process.on('exit', () => {
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
});
