// Playback: POST /v1/playback gives signed HLS and DASH manifest URLs, a screen lease and the
// resume position; hls.js (default) or dash.js plays it; the lease is kept alive while the
// page plays, the position is saved with PUT /v1/progress, and the session ends on leave.
// Player errors are collected on window.__player (the browser test reads them). Player events
// (events.js) go to POST /v1/events: window.__player.viewId names the view.
// Subtitles: the manifest's tracks (HLS SUBTITLES renditions, DASH text AdaptationSets) are
// offered through onSubtitles(control); none shows unless the caller's preference names its
// language (the libraries' own default choice is overridden: Off by default).

import { api, deviceId } from './api.js';
import { ViewEvents } from './events.js';

const libs = {
  hls: { src: 'vendor/hls.min.js', global: 'Hls' },
  dash: { src: 'vendor/dash.all.min.js', global: 'dashjs' },
};

function loadScript(kind) {
  const lib = libs[kind];
  if (window[lib.global]) return Promise.resolve(window[lib.global]);
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = lib.src;
    s.onload = () => resolve(window[lib.global]);
    s.onerror = () => reject(new Error(`${lib.src} did not load: run npm ci in examples/web`));
    document.head.appendChild(s);
  });
}

export function playerKind() {
  const q = new URLSearchParams(location.search).get('player');
  if (q === 'dash' || q === 'hls') return q;
  return localStorage.getItem('libstream.player') === 'dash' ? 'dash' : 'hls';
}

function absolute(url) {
  return new URL(url, location.href).href;
}

/*
 * Start playing `titleId` (and `episodeId`) into `video`. Returns a stop() function that ends
 * the session; `onStatus(text)` receives short status lines. `subtitles` is the language to show
 * first (or null/'off': none); `onSubtitles(control)` is called when the tracks are known and
 * after each change: control.tracks ([{name, lang}]), control.current (an index, -1 off),
 * control.select(index) (-1: off).
 */
export async function play(video, { titleId, episodeId, kind, onStatus, subtitles, onSubtitles }) {
  const state = (window.__player = {
    kind,
    errors: [],
    events: [],
    session: null,
    ended: false,
    notices: [], // what the player worked around (not errors)
  });
  const status = (t) => {
    state.events.push(t);
    if (onStatus) onStatus(t);
  };
  let player = null;
  let kindLib = null;
  // Subtitles: `wanted` is the track index chosen (-1 off), `wantedLang` its language (kept
  // when the library lists the tracks again); apply() makes the library show it.
  const subs = (state.subtitles = { tracks: [], current: -1 });
  let wanted = -1;
  let wantedLang = subtitles || 'off';
  let apply = () => {};
  const subsChanged = () => {
    if (onSubtitles) onSubtitles({ tracks: subs.tracks, current: subs.current, select });
  };
  function select(index) {
    wanted = index >= 0 && index < subs.tracks.length ? index : -1;
    wantedLang = wanted >= 0 ? subs.tracks[wanted].lang : 'off';
    apply();
    subs.current = wanted;
    subsChanged();
  }
  const tracksKnown = (list) => {
    subs.tracks = list;
    select(wantedLang !== 'off' ? list.findIndex((t) => t.lang === wantedLang) : -1);
  };
  // Player events: CMCD br and mtp (kbit/s) from the player library.
  const view = new ViewEvents({
    video,
    titleId,
    episodeId,
    deviceId: deviceId(),
    stats: () => libStats(kind, player, kindLib),
  });
  state.viewId = view.viewId;
  state.viewEvents = view;
  view.attach();
  view.emit('viewinit');
  view.emit('playrequest');
  const body = {
    title_id: titleId,
    device_id: deviceId(),
    device_name: `Web (${navigator.platform || 'browser'})`,
    format: kind,
  };
  if (episodeId) body.episode_id = episodeId;
  let pb;
  try {
    pb = await api('POST', '/v1/playback', body);
  } catch (e) {
    view.error(e.message, e.status || 0);
    view.close();
    throw e;
  }
  view.sessionId = pb.session_id || '';
  state.session = pb;
  const url = absolute(kind === 'dash' ? pb.dash_url : pb.hls_url);
  const resume = Math.max(0, (pb.resume_position_ms || 0) / 1000);
  status(`session ${pb.session_id || ''} · ${kind} · up to ${pb.max_height || '?'}p`);

  const timers = [];
  let stopped = false;

  let Lib;
  try {
    Lib = await loadScript(kind);
  } catch (e) {
    view.error(e.message);
    view.close();
    throw e;
  }
  kindLib = Lib;
  let level = null; // the rendition playing, for renditionchange
  const rendition = (id) => {
    if (level !== null && id !== level) view.emit('renditionchange');
    level = id;
  };
  if (kind === 'hls') {
    if (!Lib.isSupported()) throw new Error('this browser has no Media Source Extensions');
    // Subtitle cues go to text tracks of our own (video.addTextTrack): hls.js's native
    // rendering adds <track src="data:,WEBVTT"> elements, which the page's CSP (media-src
    // 'self' blob:) refuses with a console error.
    // CMCD (CTA-5004 v1) on every media request, in the query (headers would cost a CORS
    // preflight per request): the origin logs the session id, title, object type, buffer...
    player = new Lib({ startPosition: resume > 0 ? resume : -1, enableWorker: true,
      renderTextTracksNatively: false,
      cmcd: { sessionId: pb.session_id || undefined, contentId: titleId, useHeaders: false,
        version: 1 } });
    player.on(Lib.Events.ERROR, (_e, data) => {
      state.errors.push({ type: data.type, details: data.details, fatal: !!data.fatal,
        at: video.currentTime });
      if (data.fatal) {
        status(`playback error: ${data.details}`);
        view.error(`${data.type}: ${data.details}`);
      }
    });
    player.on(Lib.Events.LEVEL_SWITCHED, (_e, data) => rendition(data.level));
    // hls.js selects the DEFAULT=YES track itself right after SUBTITLE_TRACKS_UPDATED and may
    // switch again on a level change: the choice is (re)applied once its handlers are done.
    const textTracks = new Map(); // `${lang} ${name}` -> {track: TextTrack, seen: Set of cues}
    const textTrackFor = (t) => {
      const key = `${t.lang} ${t.name}`;
      if (!textTracks.has(key)) {
        const track = video.addTextTrack('subtitles', t.name, t.lang);
        track.mode = 'disabled';
        textTracks.set(key, { track, seen: new Set() });
      }
      return textTracks.get(key);
    };
    apply = () => {
      const hls = player;
      if (!hls) return;
      if (hls.subtitleTrack !== wanted) hls.subtitleTrack = wanted; // loads its playlist
      const on = subs.tracks[wanted];
      for (const [key, { track }] of textTracks) {
        const mode = on && key === `${on.lang} ${on.name}` ? 'showing' : 'disabled';
        if (track.mode !== mode) track.mode = mode;
      }
    };
    player.on(Lib.Events.SUBTITLE_TRACKS_UPDATED, (_e, data) => {
      const list = data.subtitleTracks.map((t) => ({ name: t.name || t.lang || `Track ${t.id + 1}`,
        lang: t.lang || '' }));
      list.forEach(textTrackFor);
      tracksKnown(list);
      queueMicrotask(apply);
    });
    player.on(Lib.Events.CUES_PARSED, (_e, data) => {
      const t = data.subtitleTrack;
      if (data.type !== 'subtitles' || !t) return;
      const { track, seen } = textTrackFor({ name: t.name || t.lang || `Track ${t.id + 1}`,
        lang: t.lang || '' });
      for (const cue of data.cues) {
        const key = `${cue.startTime} ${cue.endTime} ${cue.text}`; // a fragment may come twice
        if (seen.has(key)) continue;
        seen.add(key);
        track.addCue(cue);
      }
    });
    player.on(Lib.Events.SUBTITLE_TRACK_SWITCH, (_e, data) => {
      if (data.id !== wanted) queueMicrotask(apply);
    });
    player.on(Lib.Events.MANIFEST_PARSED, (_e, data) =>
      status(`${data.levels.length} rendition(s); playing`));
    player.loadSource(url);
    player.attachMedia(video);
  } else {
    player = Lib.MediaPlayer().create();
    // Text off until chosen; the choice is ours (per profile), not dash.js's own storage.
    // CMCD (CTA-5004 v1) in the query of every media request, as with hls.js above.
    player.updateSettings({ streaming: { text: { defaultEnabled: false },
      lastMediaSettingsCachingInfo: { enabled: false },
      cmcd: { enabled: true, sid: pb.session_id || null, cid: titleId, mode: 'query',
        version: 1 } } });
    apply = () => {
      try {
        player.setTextTrack(wanted);
      } catch {
        /* not initialized yet: TEXT_TRACKS_ADDED applies it */
      }
    };
    // The tracks in the order setTextTrack() indexes them.
    player.on(Lib.MediaPlayer.events.TEXT_TRACKS_ADDED, (e) => {
      tracksKnown((e.tracks || []).map((t, i) => ({
        name: (t.labels && t.labels[0] && t.labels[0].text) || t.label || t.lang || `Track ${i + 1}`,
        lang: t.lang || '',
      })));
    });
    player.on(Lib.MediaPlayer.events.ERROR, (e) => {
      const err = e.error || {};
      state.errors.push({ type: 'dash', details: err.message || String(err.code || e.type),
        at: video.currentTime });
      status(`playback error: ${err.message || err.code}`);
      view.error(err.message || String(err.code || e.type), Number(err.code) || 0);
    });
    player.on(Lib.MediaPlayer.events.QUALITY_CHANGE_RENDERED, (e) => {
      if (e.mediaType === 'video') rendition(e.newQuality ?? e.newRepresentation?.id);
    });
    player.on(Lib.MediaPlayer.events.STREAM_INITIALIZED, () => status('playing'));
    player.initialize(video, url, true, resume > 0 ? resume : NaN);
  }
  video.addEventListener('ended', () => {
    state.ended = true;
    status('ended');
  });
  // Chromium with MSE can leave the element ended (video.ended, paused at the end) without
  // firing `ended` (seen once with dash.js after a seek close to the end on a loaded machine).
  // The real event is queued right after `pause`/`timeupdate`; if it has not come a moment
  // later, fire it ourselves so the end is saved and reported (every listener is idempotent).
  let endCheck = 0;
  const checkEnded = () => {
    if (!video.ended || state.ended || endCheck) return;
    endCheck = setTimeout(() => {
      endCheck = 0;
      if (video.ended && !state.ended && !stopped) {
        state.notices.push({ type: 'ended-event-missing', at: video.currentTime });
        video.dispatchEvent(new Event('ended'));
      }
    }, 500);
  };
  video.addEventListener('pause', checkEnded);
  video.addEventListener('timeupdate', checkEnded);
  video.play().catch(() => {}); // autoplay may need a click; the controls are there

  // Keep the screen lease alive while this page plays.
  const lease = pb.lease || null;
  if (lease && lease.heartbeat_url) {
    const every = Math.max(5, Math.min(lease.interval_s || 30, 300)) * 1000;
    timers.push(setInterval(() => {
      // The API is where this page is: take the path (the daemon may name another host).
      api('POST', new URL(lease.heartbeat_url, location.href).pathname, {}).catch((e) => {
        state.errors.push({ type: 'lease', details: e.message });
        status(`lease: ${e.message}`);
      });
    }, every));
  }

  // Resume position: every 10 s while playing, on pause and at the end. At the end the whole
  // duration is saved (the clock may stop a little short of a rounded duration, 5.999999 of
  // 6 s): a title watched to its end leaves Continue watching. Nothing is saved before the
  // clock holds the start position (until the library's first seek or playing, the element
  // reads 0, which would overwrite the resume position) nor once stop() has run (the old
  // element's events and timers must not write over the next session's position).
  // One save is in flight at a time and the newest position waits for it (a newer one replaces
  // it): two PUTs in flight (the 10 s timer, then a pause) could reach the server in the other
  // order and leave the older position saved. state.progress shows both (the browser test).
  let lastSaved = -1;
  let started = false;
  const saves = (state.progress = { inFlight: null, queued: null });
  let saving = null; // the promise of the save in flight
  const send = (w) => {
    saves.inFlight = w.position_s;
    saving = api('PUT', '/v1/progress', w).catch(() => {}).then(() => {
      const next = saves.queued;
      saves.inFlight = null;
      saves.queued = null;
      saving = null;
      if (next) send(next);
    });
  };
  const saveProgress = () => {
    if (stopped || !started) return;
    const d = Math.round(video.duration);
    if (!Number.isFinite(d) || d < 1) return;
    const p = video.ended ? d : Math.min(Math.floor(video.currentTime), d);
    if (p === lastSaved) return;
    lastSaved = p;
    const w = { title_id: titleId, position_s: p, duration_s: d };
    if (episodeId) w.episode_id = episodeId;
    if (saving) saves.queued = w;
    else send(w);
  };
  const onStarted = () => {
    started = true;
  };
  timers.push(setInterval(() => {
    if (!video.paused) saveProgress();
  }, 10000));
  const progressEvents = { playing: onStarted, seeked: onStarted, pause: saveProgress,
    ended: saveProgress };
  for (const [type, f] of Object.entries(progressEvents)) video.addEventListener(type, f);

  return async function stop() {
    if (stopped) return;
    saveProgress();
    stopped = true;
    timers.forEach(clearInterval);
    clearTimeout(endCheck);
    for (const [type, f] of Object.entries(progressEvents)) video.removeEventListener(type, f);
    const sent = view.close(); // the view's last events, while the player still answers stats
    try {
      if (kind === 'hls') player.destroy();
      else player.reset();
    } catch {
      /* already torn down */
    }
    while (saving) await saving; // the last position is saved before the session ends
    if (pb.session_id)
      await api('DELETE', `/v1/playback/${encodeURIComponent(pb.session_id)}`).catch(() => {});
    await sent;
  };
}

/* CMCD br (the playing rendition) and mtp (the throughput estimate), kbit/s. */
function libStats(kind, player, Lib) {
  if (!player || !Lib) return {};
  try {
    if (kind === 'hls') {
      const l = player.levels && player.levels[player.currentLevel];
      return { br: l ? l.bitrate / 1000 : 0, mtp: (player.bandwidthEstimate || 0) / 1000 };
    }
    const rep = player.getCurrentRepresentationForType('video');
    return {
      br: rep ? rep.bitrateInKbit || (rep.bandwidth || 0) / 1000 : 0,
      mtp: player.getAverageThroughput('video') || 0,
    };
  } catch {
    return {};
  }
}
