// Avatars: fetched once per user with the token in the header, shown through
// object URLs, with an initials placeholder for users without one.

import { fetchAvatar } from './api.js';
import { t } from './i18n.js';

/**
 * Avatars caches one object URL per user and keeps every avatar element on
 * the page current: an element made by element() is updated in place when
 * refresh() learns that the user changed their image.
 */
export class Avatars {
  constructor() {
    this.urls = new Map(); // userid -> Promise<string> ('' = no avatar)
    this.known = new Map(); // userid -> string, once the promise has settled
  }

  /** element returns a new avatar element for a user. */
  element(userID, name, size = '') {
    const el = document.createElement('span');
    el.className = 'avatar' + (size ? ' avatar-' + size : '');
    this.fill(el, userID, name);
    return el;
  }

  /** fill makes el show the avatar of a user, placeholder first. */
  fill(el, userID, name) {
    el.dataset.userid = String(userID);
    el.dataset.name = name;
    // A known image is shown at once, so re-rendered messages do not flicker.
    if (this.known.has(userID)) {
      show(el, this.known.get(userID), name);
      return;
    }
    placeholder(el, name);
    this.url(userID).then((url) => {
      if (el.dataset.userid === String(userID)) show(el, url, name);
    });
  }

  url(userID) {
    let p = this.urls.get(userID);
    if (!p) {
      p = fetchAvatar(userID).then((url) => {
        if (this.urls.get(userID) === p) this.known.set(userID, url);
        return url;
      }, () => {
        // Forget a failure so that a later element tries again.
        if (this.urls.get(userID) === p) this.urls.delete(userID);
        return '';
      });
      this.urls.set(userID, p);
    }
    return p;
  }

  /** refresh fetches a user's avatar again and updates it everywhere. */
  async refresh(userID) {
    const old = this.urls.get(userID);
    this.urls.delete(userID);
    this.known.delete(userID);
    const url = await this.url(userID);
    for (const el of document.querySelectorAll(`.avatar[data-userid="${Number(userID)}"]`)) {
      show(el, url, el.dataset.name || '');
    }
    if (old) old.then((u) => u && u !== url && URL.revokeObjectURL(u));
  }

  /** clear forgets every cached image, e.g. at logout. */
  clear() {
    for (const p of this.urls.values()) p.then((u) => u && URL.revokeObjectURL(u));
    this.urls.clear();
    this.known.clear();
  }
}

function show(el, url, name) {
  if (!url) {
    placeholder(el, name);
    return;
  }
  const img = document.createElement('img');
  img.src = url;
  img.alt = '';
  el.replaceChildren(img);
  el.classList.remove('placeholder');
  el.title = t('avatarOf', { name });
}

/** placeholder shows the initials of name on a colour derived from it. */
export function placeholder(el, name) {
  const initials = (name || '').split(/[\s_.\-]+/).filter(Boolean).slice(0, 2)
    .map((word) => [...word][0]).join('').toUpperCase() || '?';
  el.replaceChildren(document.createTextNode(initials));
  el.classList.add('placeholder');
  el.style.setProperty('--hue', String(hue(name || '')));
  el.title = name || '';
}

/** hue derives a stable colour from a name. */
export function hue(s) {
  let h = 0;
  for (const c of s.toLowerCase()) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}
