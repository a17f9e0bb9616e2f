// Parses a packaged title's manifests with the video.js parsers (npm
// m3u8-parser and mpd-parser) and cross-checks them:
//   node parse_manifests.mjs OUTDIR
// - master.m3u8 parses, every variant has BANDWIDTH, AVERAGE-BANDWIDTH, CODECS,
//   RESOLUTION, FRAME-RATE; audio media groups have a language; I-frame
//   playlists are listed;
// - every media / I-frame playlist parses as VOD with ENDLIST, EXT-X-MAP on
//   every segment, durations <= target + 0.5, byte ranges on I-frame entries;
// - manifest.mpd parses; each of its representations has the same segments
//   (same files, same durations within 1 ms) as the HLS playlist of that track.
// - subtitles: every SUBTITLES media group entry has a language and a WebVTT
//   playlist (no EXT-X-MAP, .vtt segments on the video's durations), every
//   variant names the group, and the MPD has one text track (whole-file .vtt
//   that exists) per HLS track, same languages. With EXPECTED_SUBTITLES given
//   (node parse_manifests.mjs OUTDIR [EXPECTED_SUBTITLES]) both parsers must
//   see exactly that many tracks.
// Exit status 1 with the list of problems.
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname, normalize } from 'node:path';
import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';

const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node parse_manifests.mjs OUTDIR');
  process.exit(2);
}
const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

function parseM3u8(rel) {
  const path = join(outdir, rel);
  if (!existsSync(path)) {
    fail(rel, 'missing');
    return null;
  }
  const warnings = [];
  const p = new Parser();
  p.on('warn', (w) => warnings.push(w.message));
  p.push(readFileSync(path, 'utf8'));
  p.end();
  for (const w of warnings) fail(rel, `parser warning: ${w}`);
  return p.manifest;
}

const master = parseM3u8('master.m3u8');
const hlsTracks = new Map(); // resolved first-segment path -> {rel, segments}
const summary = { variants: 0, audio: 0, iframes: 0, mpdRepresentations: 0, subtitles: 0,
                  mpdSubtitles: 0 };
const expectSubs = process.argv[3] === undefined ? null : Number(process.argv[3]);
const hlsSubLangs = [];
const videoDurations = [];

function checkMedia(rel, iframes, text = false) {
  const m = parseM3u8(rel);
  if (!m) return;
  if (m.playlistType !== 'VOD') fail(rel, `playlistType ${m.playlistType}`);
  if (!m.endList) fail(rel, 'no EXT-X-ENDLIST');
  if (!(m.targetDuration > 0)) fail(rel, 'no target duration');
  if (!m.segments || m.segments.length === 0) fail(rel, 'no segments');
  const base = dirname(rel);
  const segs = [];
  for (const [i, s] of (m.segments || []).entries()) {
    if (text) {
      if (s.map) fail(rel, `WebVTT segment ${i} with EXT-X-MAP`);
      if (!s.uri.endsWith('.vtt')) fail(rel, `segment ${i} ${s.uri} is not .vtt`);
    } else if (!s.map || !s.map.uri) fail(rel, `segment ${i} without EXT-X-MAP`);
    if (!(s.duration > 0)) fail(rel, `segment ${i} duration ${s.duration}`);
    if (!iframes && s.duration > m.targetDuration + 0.5)
      fail(rel, `segment ${i} lasts ${s.duration} > target ${m.targetDuration} + 0.5`);
    if (iframes && !s.byterange) fail(rel, `I-frame entry ${i} without byte range`);
    const file = normalize(join(base, s.uri));
    if (!existsSync(join(outdir, file))) fail(rel, `segment ${s.uri} missing`);
    segs.push({ file, duration: s.duration });
  }
  if (iframes) {
    if (!readFileSync(join(outdir, rel), 'utf8').includes('#EXT-X-I-FRAMES-ONLY'))
      fail(rel, 'no EXT-X-I-FRAMES-ONLY');
  } else if (text) {
    if (videoDurations.length && segs.length !== videoDurations.length)
      fail(rel, `${segs.length} WebVTT segments, the video has ${videoDurations.length}`);
    segs.forEach((sg, i) => {
      if (i < videoDurations.length && Math.abs(sg.duration - videoDurations[i]) > 0.001)
        fail(rel, `WebVTT segment ${i} lasts ${sg.duration}, video ${videoDurations[i]}`);
    });
  } else if (segs.length) {
    hlsTracks.set(segs[0].file, { rel, segs });
    if (!videoDurations.length && !rel.startsWith('audio')) videoDurations.push(...segs.map((x) => x.duration));
  }
}

if (master) {
  const variants = master.playlists || [];
  if (variants.length === 0) fail('master.m3u8', 'no variants');
  for (const v of variants) {
    const a = v.attributes || {};
    summary.variants++;
    for (const key of ['BANDWIDTH', 'AVERAGE-BANDWIDTH', 'CODECS', 'RESOLUTION', 'FRAME-RATE'])
      if (a[key] === undefined) fail(`master.m3u8 ${v.uri}`, `${key} missing`);
    if (a.RESOLUTION && !(a.RESOLUTION.width > 0 && a.RESOLUTION.height > 0))
      fail(`master.m3u8 ${v.uri}`, 'RESOLUTION not parsed');
    checkMedia(v.uri, false);
  }
  const audio = (master.mediaGroups && master.mediaGroups.AUDIO) || {};
  for (const [group, names] of Object.entries(audio)) {
    for (const [name, r] of Object.entries(names)) {
      summary.audio++;
      if (!r.language) fail(`master.m3u8 audio ${group}/${name}`, 'no LANGUAGE');
      if (r.uri) checkMedia(r.uri, false);
    }
  }
  const subs = (master.mediaGroups && master.mediaGroups.SUBTITLES) || {};
  for (const [group, names] of Object.entries(subs)) {
    for (const [name, r] of Object.entries(names)) {
      summary.subtitles++;
      if (!r.language) fail(`master.m3u8 subtitles ${group}/${name}`, 'no LANGUAGE');
      if (!r.uri) fail(`master.m3u8 subtitles ${group}/${name}`, 'no URI');
      else checkMedia(r.uri, false, true);
      hlsSubLangs.push(r.language);
    }
    for (const v of variants)
      if (!v.attributes || v.attributes.SUBTITLES !== group)
        fail(`master.m3u8 ${v.uri}`, `SUBTITLES="${group}" missing`);
  }
  const iframes = master.iFramePlaylists || [];
  if (iframes.length === 0) fail('master.m3u8', 'no EXT-X-I-FRAME-STREAM-INF');
  for (const f of iframes) {
    summary.iframes++;
    const a = f.attributes || {};
    for (const key of ['BANDWIDTH', 'CODECS', 'RESOLUTION'])
      if (a[key] === undefined) fail(`master.m3u8 I-frame ${f.uri}`, `${key} missing`);
    checkMedia(f.uri, true);
  }
}

const mpdPath = join(outdir, 'manifest.mpd');
if (!existsSync(mpdPath)) {
  fail('manifest.mpd', 'missing');
} else {
  const events = [];
  let mpd = null;
  try {
    mpd = parseMpd(readFileSync(mpdPath, 'utf8'), {
      manifestUri: '',
      eventHandler: ({ type, message }) => events.push(`${type}: ${message}`),
    });
  } catch (e) {
    fail('manifest.mpd', `parse error: ${e.message}`);
  }
  for (const e of events) fail('manifest.mpd', e);
  if (mpd) {
    const reps = [...(mpd.playlists || [])];
    for (const groups of Object.values(mpd.mediaGroups.AUDIO || {}))
      for (const g of Object.values(groups)) reps.push(...(g.playlists || []));
    if (!reps.length) fail('manifest.mpd', 'no representations');
    const mpdSubLangs = [];
    for (const groups of Object.values(mpd.mediaGroups.SUBTITLES || {}))
      for (const [label, g] of Object.entries(groups))
        for (const pl of g.playlists || []) {
          summary.mpdSubtitles++;
          mpdSubLangs.push(g.language);
          const segs = pl.segments || [];
          if (!segs.length) fail(`manifest.mpd text ${label}`, 'no WebVTT file');
          for (const sg of segs)
            if (!sg.uri.endsWith('.vtt') || !existsSync(join(outdir, sg.uri)))
              fail(`manifest.mpd text ${label}`, `WebVTT ${sg.uri} missing`);
        }
    if (mpdSubLangs.sort().join() !== [...hlsSubLangs].sort().join())
      fail('manifest.mpd', `text languages [${mpdSubLangs}] differ from HLS [${hlsSubLangs}]`);
    for (const r of reps) {
      summary.mpdRepresentations++;
      const id = (r.attributes && r.attributes.NAME) || '?';
      const segs = (r.segments || []).map((s) => ({ file: normalize(s.uri), duration: s.duration }));
      if (!segs.length) {
        fail(`manifest.mpd ${id}`, 'no segments');
        continue;
      }
      if (!r.attributes.BANDWIDTH) fail(`manifest.mpd ${id}`, 'no bandwidth');
      if (!r.attributes.CODECS) fail(`manifest.mpd ${id}`, 'no codecs');
      const hls = hlsTracks.get(segs[0].file);
      if (!hls) {
        fail(`manifest.mpd ${id}`, `first segment ${segs[0].file} is in no HLS playlist`);
        continue;
      }
      if (hls.segs.length !== segs.length)
        fail(`manifest.mpd ${id}`, `${segs.length} segments, HLS ${hls.rel} has ${hls.segs.length}`);
      for (let i = 0; i < Math.min(segs.length, hls.segs.length); i++) {
        if (segs[i].file !== hls.segs[i].file)
          fail(`manifest.mpd ${id}`, `segment ${i} is ${segs[i].file}, HLS has ${hls.segs[i].file}`);
        if (Math.abs(segs[i].duration - hls.segs[i].duration) > 0.001)
          fail(`manifest.mpd ${id}`,
               `segment ${i} lasts ${segs[i].duration}, HLS says ${hls.segs[i].duration}`);
      }
    }
  }
}

if (expectSubs !== null && (summary.subtitles !== expectSubs || summary.mpdSubtitles !== expectSubs))
  fail('subtitles', `expected ${expectSubs} tracks, HLS has ${summary.subtitles}, DASH ${summary.mpdSubtitles}`);
console.log(JSON.stringify(summary));
if (problems.length) {
  for (const p of problems) console.log(`PROBLEM ${p}`);
  process.exit(1);
}
console.log('parse_manifests: OK');
