// The timeline: messages kept in id order, each rendered once and updated in
// place, with the own messages' edit and delete controls.

import { h } from './ui.js';
import { hue } from './avatars.js';
import { t, shortTime, fullTime } from './i18n.js';

const GROUP_SECONDS = 5 * 60;

/**
 * Timeline renders messages into list (an <ol>). me() returns the current
 * user's id; onEdit(id, text) and onDelete(id) are called from the controls
 * of own messages and return promises.
 */
export class Timeline {
  constructor({ list, avatars, me, onEdit, onDelete }) {
    this.list = list;
    this.avatars = avatars;
    this.me = me;
    this.onEdit = onEdit;
    this.onDelete = onDelete;
    this.items = new Map(); // id -> {msg, el}
    this.deleted = new Set(); // ids deleted while a load was in flight
  }

  get size() { return this.items.size; }

  oldestID() {
    const first = this.list.firstElementChild;
    return first ? Number(first.dataset.id) : 0;
  }

  newestID() {
    const last = this.list.lastElementChild;
    return last ? Number(last.dataset.id) : 0;
  }

  clear() {
    this.items.clear();
    this.deleted.clear();
    this.list.replaceChildren();
  }

  /**
   * upsert shows a message: a new one in id order, a known one updated when
   * the copy is not older than the shown one. It returns true for a new one.
   */
  upsert(msg) {
    if (this.deleted.has(msg.id)) return false;
    const item = this.items.get(msg.id);
    if (item) {
      const same = msg.text === item.msg.text && msg.timeupdated === item.msg.timeupdated &&
        msg.username === item.msg.username;
      // The same copy arrives twice (the post's answer and its event); leave
      // the DOM alone then, so focus and hover are not lost to a re-render.
      if (!same && (msg.timeupdated ?? 0) >= (item.msg.timeupdated ?? 0)) {
        item.msg = msg;
        this.fill(item);
      }
      return false;
    }
    const el = h('li', { className: 'msg', 'data-id': String(msg.id) });
    const next = [...this.list.children].find((li) => Number(li.dataset.id) > msg.id);
    this.list.insertBefore(el, next || null);
    const fresh = { msg, el };
    this.items.set(msg.id, fresh);
    this.fill(fresh);
    this.regroup(el);
    if (next) this.regroup(next);
    return true;
  }

  remove(id) {
    this.deleted.add(id);
    const item = this.items.get(id);
    if (!item) return;
    const next = item.el.nextElementSibling;
    item.el.remove();
    this.items.delete(id);
    if (next) this.regroup(next);
  }

  /** refreshTimes re-renders the times, e.g. after midnight. */
  refreshTimes() {
    for (const item of this.items.values()) this.fill(item);
  }

  // regroup marks a message that continues its author's previous one, so
  // that the avatar and name are shown once per run of messages.
  regroup(el) {
    const prev = el.previousElementSibling;
    const a = this.items.get(Number(el.dataset.id));
    const b = prev && this.items.get(Number(prev.dataset.id));
    const continued = Boolean(a && b && a.msg.userid === b.msg.userid &&
      a.msg.timecreated - b.msg.timecreated < GROUP_SECONDS);
    el.classList.toggle('continued', continued);
  }

  fill(item) {
    const { msg, el } = item;
    if (el.querySelector('.editor')) return; // the user is editing it
    const own = msg.userid === this.me();
    el.classList.toggle('own', own);
    el.style.setProperty('--hue', String(hue(msg.username)));
    const time = h('time', { dateTime: new Date(msg.timecreated * 1000).toISOString(), title: fullTime(msg.timecreated) },
      shortTime(msg.timecreated));
    const meta = h('div', { className: 'meta' },
      h('span', { className: 'author' }, msg.username), ' ', time);
    if (msg.timeupdated != null) {
      meta.append(' ', h('span', { className: 'edited', title: t('editedAt', { time: fullTime(msg.timeupdated) }) }, t('edited')));
    }
    if (own) meta.append(this.controls(item));
    const bubble = h('div', { className: 'bubble' }, meta, h('p', { className: 'text' }, msg.text));
    el.replaceChildren(this.avatars.element(msg.userid, msg.username), bubble);
  }

  controls(item) {
    const edit = h('button', { type: 'button', className: 'edit', 'aria-label': t('editLabel') }, t('edit'));
    const del = h('button', { type: 'button', className: 'delete', 'aria-label': t('deleteTitle') }, t('delete'));
    edit.addEventListener('click', () => this.startEdit(item));
    del.addEventListener('click', () => this.onDelete(item.msg.id));
    return h('div', { className: 'actions' }, edit, del);
  }

  startEdit(item) {
    const bubble = item.el.querySelector('.bubble');
    const textEl = bubble.querySelector('.text');
    const area = h('textarea', { className: 'edit-text', value: item.msg.text, rows: 2, 'aria-label': t('editLabel') });
    const error = h('p', { className: 'field-error', role: 'alert' });
    const save = h('button', { type: 'submit', className: 'primary small' }, t('save'));
    const cancel = h('button', { type: 'button', className: 'small' }, t('cancel'));
    const form = h('form', { className: 'editor', noValidate: true }, area,
      h('div', { className: 'editor-actions' }, h('span', { className: 'hint' }, t('editHint')), cancel, save), error);
    const close = () => {
      form.remove();
      item.el.classList.remove('editing');
      this.fill(item);
      item.el.querySelector('.edit')?.focus();
    };
    cancel.addEventListener('click', close);
    area.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') { ev.preventDefault(); close(); }
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (area.value === item.msg.text) { close(); return; }
      save.disabled = true;
      const err = await this.onEdit(item.msg.id, area.value);
      save.disabled = false;
      if (err) { error.textContent = err; return; }
      close();
    });
    textEl.replaceWith(form);
    bubble.querySelector('.actions')?.remove();
    item.el.classList.add('editing');
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }
}
