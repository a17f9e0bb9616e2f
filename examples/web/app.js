// The demo web player: sign in, pick a profile, browse rows, a title page, play.
// Plain ES modules, no framework; views are chosen by the location hash:
//   #/login  #/profiles  #/ (browse)  #/title/<id>  #/watch/<id>[/<episode id>]
//   #/forgot (ask for a reset link)  #/reset?token=<t> (the mailed link: a new password)
//   #/account (change password, sign out everywhere, delete the account)
// ?player=dash (or the select on a title page) picks dash.js instead of hls.js.

import {
  api, ApiError, changePassword, clearSession, confirmPasswordReset, deleteAccount, login, logout,
  logoutEverywhere, requestPasswordReset, session, switchProfile,
} from './api.js';
import { play, playerKind } from './player.js';

const view = document.getElementById('view');
const errorBox = document.getElementById('error');
let stopPlayback = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function template(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

function showError(e) {
  errorBox.textContent = e ? e.message || String(e) : '';
  errorBox.hidden = !e;
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function poster(t) {
  const box = el('div', { class: 'art' }, el('span', {}, t.name));
  const src = t.artwork && (t.artwork.poster || t.artwork.backdrop);
  if (src) {
    const img = el('img', { alt: '', loading: 'lazy', src });
    img.addEventListener('error', () => img.remove()); // the name stays as the placeholder
    img.addEventListener('load', () => box.classList.add('has-img'));
    box.prepend(img);
  }
  return box;
}

function card(t, extra) {
  return el('a', { class: 'tile', href: `#/title/${encodeURIComponent(t.id)}`, 'data-id': t.id },
    poster(t), el('span', { class: 'tile-name' }, t.name), extra || null);
}

function progressBar(fraction) {
  const fill = el('span');
  fill.style.width = `${Math.round(fraction * 100)}%`; // CSSOM, not a style attribute (CSP)
  return el('span', { class: 'bar' }, fill);
}

function row(name, tiles) {
  return el('section', { class: 'row' }, el('h2', {}, name), el('div', { class: 'tiles' }, ...tiles));
}

/* ---- views ----------------------------------------------------------------------------- */

let loginNotice = null; // shown once on the next sign-in form (e.g. "password changed")

/* A form's submit handler around `action`: button disabled while it runs, errors shown. */
function onSubmit(form, action) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    form.querySelector('button').disabled = true;
    try {
      await action(new FormData(form));
      showError(null);
    } catch (e) {
      showError(e);
    } finally {
      form.querySelector('button').disabled = false;
    }
  });
}

function notice(form, text) {
  const p = form.querySelector('.notice');
  p.textContent = text;
  p.hidden = !text;
}

function viewForgot() {
  const form = template('tpl-forgot');
  onSubmit(form, async (f) => {
    const r = await requestPasswordReset(String(f.get('email')).trim());
    notice(form, (r && r.detail) || 'If an account uses this address, a link is on its way.');
  });
  view.replaceChildren(form);
  form.querySelector('input').focus();
}

function viewReset(token) {
  const form = template('tpl-reset');
  onSubmit(form, async (f) => {
    if (f.get('password') !== f.get('again')) throw new Error('The two passwords differ.');
    await confirmPasswordReset(token || '', String(f.get('password')));
    loginNotice = 'Your password was changed. Sign in with the new one.';
    go('#/login');
  });
  view.replaceChildren(form);
  form.querySelector('input').focus();
}

/* The account's sessions are gone (password changed, signed out everywhere, deleted): drop
 * the local one too and show `text` on the sign-in form. */
function endedSession(text) {
  clearSession();
  loginNotice = text;
  go('#/login');
}

async function viewAccount() {
  const acct = await api('GET', '/v1/account');
  const box = template('tpl-account');
  box.querySelector('.email').textContent = acct.email;
  box.querySelector('.since').textContent =
    `Member since ${new Date(acct.created_at * 1000).toISOString().slice(0, 10)}`;
  const pw = box.querySelector('#password-form');
  onSubmit(pw, async (f) => {
    if (f.get('password') !== f.get('again')) throw new Error('The two new passwords differ.');
    await changePassword(String(f.get('current')), String(f.get('password')));
    endedSession('Your password was changed. Sign in with the new one.');
  });
  box.querySelector('#logout-all').addEventListener('click', async () => {
    try {
      await logoutEverywhere();
      endedSession('You were signed out on every device.');
    } catch (e) {
      showError(e);
    }
  });
  const del = box.querySelector('#delete-form');
  onSubmit(del, async (f) => {
    await deleteAccount(String(f.get('password')));
    endedSession('Your account was deleted.');
  });
  view.replaceChildren(box);
}

function viewLogin() {
  const form = template('tpl-login');
  notice(form, loginNotice);
  loginNotice = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    form.querySelector('button').disabled = true;
    try {
      await login(String(f.get('email')).trim(), String(f.get('password')));
      showError(null);
      go('#/profiles');
    } catch (e) {
      showError(e);
    } finally {
      form.querySelector('button').disabled = false;
    }
  });
  view.replaceChildren(form);
  form.querySelector('input').focus();
}

async function viewProfiles() {
  const { profiles } = await api('GET', '/v1/profiles');
  const box = template('tpl-profiles');
  const list = box.querySelector('.profiles');
  const pinForm = box.querySelector('.pin');
  let chosen = null;
  const choose = async (p, pin) => {
    try {
      await switchProfile(p, pin);
      showError(null);
      go('#/');
    } catch (e) {
      showError(e);
    }
  };
  for (const p of profiles) {
    list.append(el('li', {}, el('button', {
      type: 'button',
      class: 'profile',
      'data-id': p.id,
      onclick: () => {
        chosen = p;
        if (p.has_pin) {
          pinForm.hidden = false;
          pinForm.querySelector('input').focus();
        } else choose(p);
      },
    }, el('span', { class: 'avatar' }, p.name.slice(0, 1).toUpperCase()), p.name,
    p.kids ? el('small', {}, ' kids') : null)));
  }
  pinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (chosen) choose(chosen, pinForm.querySelector('input').value);
  });
  view.replaceChildren(box);
}

/* The home-screen rows of GET /v1/home (continue watching, top picks, because you watched,
 * trending, My List); without recommendations (an older streamd), continue watching alone. */
async function homeRows() {
  let home = await api('GET', '/v1/home?per_row=20').catch(() => null);
  if (!home) {
    const cw = await api('GET', '/v1/continue-watching?limit=20').catch(() => ({ items: [] }));
    home = { rows: cw.items.length ? [{ id: 'continue_watching', name: 'Continue watching', items: cw.items }] : [] };
  }
  return home.rows.map((r) => row(r.name, r.items.map((it) => (r.id === 'continue_watching'
    ? card(it.title, progressBar(it.progress)) : card(it.title || it)))));
}

async function viewBrowse() {
  const [homeRowList, genres] = await Promise.all([homeRows(), api('GET', '/v1/genres')]);
  const rows = [...homeRowList];
  const pages = await Promise.all(genres.genres.map((g) =>
    api('GET', `/v1/browse?genre=${encodeURIComponent(g)}&limit=20`).then((p) => [g, p])));
  for (const [g, page] of pages) if (page.items.length) rows.push(row(g, page.items.map((t) => card(t))));
  if (!rows.length) {
    const all = await api('GET', '/v1/browse?limit=50');
    rows.push(row('All titles', all.items.map((t) => card(t))));
  }
  view.replaceChildren(...rows);
}

function metaLine(t) {
  return [t.year, t.maturity_label, t.runtime_minutes && `${t.runtime_minutes} min`,
    (t.genres || []).join(', ')].filter(Boolean).join(' · ');
}

async function viewTitle(id) {
  const t = await api('GET', `/v1/titles/${encodeURIComponent(id)}`);
  const page = template('tpl-title');
  page.querySelector('.poster').append(poster(t));
  page.querySelector('.name').textContent = t.name;
  page.querySelector('.meta').textContent = metaLine(t);
  page.querySelector('.synopsis').textContent = t.synopsis || '';
  const choice = page.querySelector('.player-choice');
  choice.value = playerKind();
  choice.addEventListener('change', () => localStorage.setItem('libstream.player', choice.value));
  const watch = (episode) => go(`#/watch/${encodeURIComponent(t.id)}${episode ? `/${encodeURIComponent(episode)}` : ''}`);
  const playBtn = page.querySelector('.play');
  const episodes = page.querySelector('.episodes');
  // streamd says whether a published asset exists ("playable"; absent from an older daemon:
  // assume it may play). Nothing to play: Play is disabled instead of failing after a click.
  const canPlay = (x) => x.playable !== false;
  if (t.kind === 'series' && t.seasons && t.seasons.length) {
    episodes.hidden = false;
    let first = null;
    for (const s of t.seasons) {
      episodes.append(el('h2', {}, `Season ${s.number}`));
      episodes.append(el('ol', {}, ...s.episodes.map((e) => {
        if (canPlay(e)) first ??= e;
        const b = el('button', { type: 'button', class: 'link', 'data-episode': e.id,
          onclick: () => watch(e.id) }, `${e.number}. ${e.name}`);
        if (!canPlay(e)) {
          b.disabled = true;
          b.title = 'No media yet';
        }
        return el('li', {}, b);
      })));
    }
    // A title-level asset plays without an episode; else the first episode that has media.
    playBtn.addEventListener('click', () => watch(first && first.id));
  } else {
    playBtn.addEventListener('click', () => watch(null));
  }
  if (!canPlay(t)) {
    playBtn.disabled = true;
    playBtn.textContent = 'Not available yet';
    playBtn.title = 'No media has been published for this title yet';
  }
  view.replaceChildren(page);
}

/* The subtitle choice of the current profile ('off' or a language), in localStorage. */
function subtitleKey() {
  const s = session();
  return `libstream.subtitles.${(s && s.profile_id) || ''}`;
}

/*
 * The subtitles menu under the video: a button that opens a menu of radio items ("Off" and
 * one per track, by its name). Keyboard: Enter/Space/ArrowDown open it on the checked item,
 * ArrowUp/ArrowDown/Home/End move, Enter/Space choose, Escape closes (focus back on the
 * button), Tab or a click elsewhere closes it. Returns onSubtitles for play().
 */
function subtitlesMenu(box) {
  const wrap = box.querySelector('.cc');
  const button = wrap.querySelector('.cc-button');
  const menu = wrap.querySelector('.cc-menu');
  const current = wrap.querySelector('.cc-current');
  let control = null;
  const items = () => [...menu.querySelectorAll('[role=menuitemradio]')];
  const open = (on, focus = true) => {
    menu.hidden = !on;
    button.setAttribute('aria-expanded', String(on));
    if (on) (items().find((i) => i.getAttribute('aria-checked') === 'true') || items()[0]).focus();
    else if (focus) button.focus();
  };
  const choose = (index) => {
    if (!control) return;
    const t = control.tracks[index];
    localStorage.setItem(subtitleKey(), t ? t.lang : 'off');
    control.select(index);
    open(false);
  };
  button.addEventListener('click', () => open(menu.hidden));
  button.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      open(true);
    }
  });
  menu.addEventListener('keydown', (ev) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    const move = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: list.length - 1 }[ev.key];
    if (move !== undefined) {
      ev.preventDefault();
      list[(move + list.length) % list.length].focus();
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      open(false);
    } else if (ev.key === 'Tab') {
      open(false, false);
    }
  });
  wrap.addEventListener('focusout', (ev) => {
    if (!menu.hidden && !wrap.contains(ev.relatedTarget)) open(false, false);
  });
  return (c) => {
    control = c;
    wrap.hidden = !c.tracks.length;
    const entries = [{ name: 'Off', lang: 'off', index: -1 },
      ...c.tracks.map((t, index) => ({ name: t.name, lang: t.lang, index }))];
    menu.replaceChildren(...entries.map((e) => el('li', { role: 'none' }, el('button', {
      type: 'button',
      role: 'menuitemradio',
      tabindex: '-1',
      lang: e.index >= 0 && e.lang ? e.lang : null,
      'data-lang': e.lang,
      'aria-checked': String(e.index === c.current),
      onclick: () => choose(e.index),
    }, e.name))));
    current.textContent = c.current >= 0 ? c.tracks[c.current].name : 'Off';
  };
}

async function viewWatch(titleId, episodeId) {
  const box = template('tpl-player');
  const video = box.querySelector('video');
  const line = box.querySelector('.player-status');
  box.querySelector('.back').href = `#/title/${encodeURIComponent(titleId)}`;
  const onSubtitles = subtitlesMenu(box);
  view.replaceChildren(box);
  try {
    stopPlayback = await play(video, {
      titleId,
      episodeId,
      kind: playerKind(),
      onStatus: (t) => {
        line.textContent = t;
      },
      subtitles: localStorage.getItem(subtitleKey()),
      onSubtitles,
    });
  } catch (e) {
    window.__player = { ...(window.__player || {}), failed: e.message };
    line.textContent = '';
    throw e;
  }
}

/* ---- routing --------------------------------------------------------------------------- */

function updateNav() {
  const s = session();
  document.getElementById('nav').hidden = !s;
  document.getElementById('who').textContent = s ? `${s.email || ''}${s.profile_name ? ` · ${s.profile_name}` : ''}` : '';
}

async function route() {
  if (stopPlayback) {
    const stop = stopPlayback;
    stopPlayback = null;
    stop();
  }
  showError(null);
  updateNav();
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').map(decodeURIComponent);
  if (parts[0] === 'forgot' || parts[0] === 'reset') {
    // Signed-out pages: a reset link may be opened on a device where someone else is signed in.
    if (parts[0] === 'forgot') viewForgot();
    else viewReset(new URLSearchParams(query || '').get('token'));
    return;
  }
  const s = session();
  if (!s) {
    viewLogin();
    return;
  }
  try {
    if (parts[0] === 'login') viewLogin();
    else if (parts[0] === 'account') await viewAccount();
    else if (parts[0] === 'profiles' || !s.profile_id) await viewProfiles();
    else if (parts[0] === 'title' && parts[1]) await viewTitle(parts[1]);
    else if (parts[0] === 'watch' && parts[1]) await viewWatch(parts[1], parts[2] || null);
    else await viewBrowse();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      clearSession();
      updateNav();
      viewLogin();
    }
    showError(e);
  }
  updateNav();
}

document.getElementById('sign-out').addEventListener('click', async () => {
  await logout();
  go('#/login');
});
document.getElementById('switch-profile').addEventListener('click', () => go('#/profiles'));
window.addEventListener('hashchange', route);
window.addEventListener('pagehide', () => stopPlayback && stopPlayback());
route();
