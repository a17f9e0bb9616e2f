// Player events (docs/api/events.md): the same event types as the C player (examples/player),
// sent to POST /v1/events as JSON batches. Events are batched every 10 s or 50 events and
// flushed when the view stops and on `pagehide` (fetch keepalive, which outlives the page).
// Every event has its own id (a UUID): a batch resent after a network error or a 5xx is stored
// once (the ingest removes duplicates). Fields follow CMCD: br (kbit/s of the rendition), bl
// (buffer ahead, ms), mtp (measured throughput, kbit/s), sid (the view), cid (the title), ot,
// su (startup or rebuffering).

import { api } from './api.js';

const BATCH_MAX = 50;
const FLUSH_MS = 10000;
const HEARTBEAT_MS = 10000;
const QUEUE_MAX = 1000; // memory bound: the oldest events are dropped beyond it

/* A random UUID; randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (window.isSecureContext && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/* Seconds of media buffered ahead of the playhead. */
function bufferedAhead(video) {
  const t = video.currentTime;
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.1 && t < b.end(i)) return b.end(i) - t;
  return 0;
}

/*
 * One view's events. `stats()` (optional) gives {br, mtp} in kbit/s from the player library.
 * `sent` lists the ids and types of acknowledged events (the browser test reads it).
 */
export class ViewEvents {
  constructor({ video, titleId, episodeId, deviceId, stats }) {
    this.video = video;
    this.titleId = titleId;
    this.episodeId = episodeId || '';
    this.deviceId = deviceId;
    this.stats = stats || (() => ({}));
    this.viewId = uuid();
    this.sessionId = '';
    this.queue = [];
    this.dropped = 0;
    this.sent = [];
    this.inflight = null;
    this.closed = false; // close() has sent what it could
    this.started = false; // first frame shown
    this.stalled = false;
    this.ended = false;
    this.timers = [
      setInterval(() => this.flush(), FLUSH_MS),
      setInterval(() => {
        if (this.started && !this.video.paused && !this.ended) this.emit('heartbeat');
      }, HEARTBEAT_MS),
    ];
    this.onHide = () => this.flush();
    window.addEventListener('pagehide', this.onHide);
  }

  emit(type, extra = {}) {
    const v = this.video;
    const s = this.stats() || {};
    const e = {
      id: uuid(),
      viewId: this.viewId,
      type,
      clientTs: Date.now(),
      titleId: this.titleId,
      deviceId: this.deviceId,
      playheadMs: Math.max(0, Math.round((v.currentTime || 0) * 1000)),
      bl: Math.round(bufferedAhead(v) * 1000),
      sid: this.viewId,
      cid: this.titleId,
      ot: this.started ? 'v' : 'm',
      su: !this.started || this.stalled,
      ...extra,
    };
    if (this.episodeId) e.episodeId = this.episodeId;
    if (this.sessionId) e.sessionId = this.sessionId;
    if (v.videoWidth) {
      e.width = v.videoWidth;
      e.height = v.videoHeight;
    }
    if (s.br > 0) e.br = Math.round(s.br);
    if (s.mtp > 0) e.mtp = Math.min(1e8, Math.round(s.mtp));
    this.queue.push(e);
    if (this.queue.length > QUEUE_MAX) {
      this.queue.shift();
      this.dropped++;
    }
    if (this.queue.length >= BATCH_MAX) this.flush();
    return e;
  }

  error(message, code = 0) {
    this.emit('error', { error: { code, message: String(message).slice(0, 256), fatal: true } });
  }

  /*
   * Send the queued events (one batch in flight at a time). A network error, 401 (after
   * api.js's refresh), 408, 429 or 5xx puts the batch back at the head of the queue for the
   * next flush; any other 4xx drops it (resending cannot help). fetch keepalive (api.js sets it
   * for every POST) lets a flush on pagehide finish after the page is gone.
   */
  flush() {
    if (this.inflight || this.queue.length === 0) return this.inflight || Promise.resolve();
    const batch = this.queue.splice(0, BATCH_MAX);
    this.inflight = api('POST', '/v1/events', { events: batch })
      .then(() => {
        for (const e of batch) this.sent.push({ id: e.id, type: e.type });
      })
      .catch((err) => {
        const s = err.status || 0;
        if (s === 0 || s === 401 || s === 408 || s === 429 || s >= 500) this.queue.unshift(...batch);
        else this.dropped += batch.length;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /* Stop the timers and send everything left (resolves when the last batch is answered). */
  async close() {
    this.timers.forEach(clearInterval);
    window.removeEventListener('pagehide', this.onHide);
    for (let i = 0; i < 5 && (this.queue.length || this.inflight); i++) {
      await this.inflight;
      await this.flush();
    }
    this.closed = true;
  }

  /*
   * Map the <video> element's events onto player events: play, playing (first frame),
   * rebufferstart / rebufferend (waiting after the start, not while seeking), pause, seeking,
   * seeked, ended. Player libraries report renditionchange and errors themselves.
   */
  attach() {
    const v = this.video;
    let seeking = false;
    v.addEventListener('play', () => this.emit('play'));
    v.addEventListener('playing', () => {
      if (!this.started) {
        this.started = true;
        this.emit('playing');
      } else if (this.stalled) {
        this.emit('rebufferend');
        this.stalled = false;
      }
    });
    v.addEventListener('waiting', () => {
      if (this.started && !seeking && !this.stalled && !this.ended) {
        this.stalled = true;
        this.emit('rebufferstart');
      }
    });
    v.addEventListener('pause', () => {
      if (!v.ended) this.emit('pause');
    });
    v.addEventListener('seeking', () => {
      seeking = true;
      if (this.stalled) {
        this.emit('rebufferend');
        this.stalled = false;
      }
      this.emit('seeking');
    });
    v.addEventListener('seeked', () => {
      seeking = false;
      this.emit('seeked');
    });
    v.addEventListener('ended', () => {
      if (this.ended) return;
      if (this.stalled) {
        this.emit('rebufferend');
        this.stalled = false;
      }
      this.ended = true;
      this.emit('ended');
      this.flush();
    });
  }
}
