// Small DOM helpers shared by the views: element building (user text only
// ever as text nodes), field errors, notices and the confirmation dialog.

import { ApiError } from './api.js';
import { serverText, t, waitText } from './i18n.js';

/** $ returns the element with the given id. */
export const $ = (id) => document.getElementById(id);

/**
 * h builds an element: h('button', {className: 'x', type: 'button'}, 'Edit').
 * Props are set as properties; children are nodes or strings, and strings
 * always become text nodes.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('aria-') || k.startsWith('data-')) el.setAttribute(k, v);
    else el[k] = v;
  }
  for (const c of children) {
    if (c != null) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** clearErrors empties a form's field and form errors. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error, .form-error')) p.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * showFieldErrors puts each of a 400's field messages next to its field and
 * returns the messages of fields the form has no place for.
 */
export function showFieldErrors(form, fields) {
  const rest = [];
  for (const [name, messages] of Object.entries(fields || {})) {
    const text = fieldText(messages);
    const slot = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
    if (!slot) {
      rest.push(`${name}: ${text}`);
      continue;
    }
    slot.textContent = text;
    const input = form.elements.namedItem(name);
    if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
  }
  return rest;
}

/** fieldText joins one field's messages from a 400, translated. */
export function fieldText(messages) {
  return (Array.isArray(messages) ? messages : [String(messages)]).map(serverText).join('; ');
}

/** errorText is the message to show for a failed call. */
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('serverError', { status: err && err.message });
  if (err.status === 0) return t('networkError');
  if (err.status === 429) return err.retryAfter ? t('tooMany', { wait: waitText(err.retryAfter) }) : t('tooManyNow');
  return t('serverError', { status: err.status });
}

/**
 * showError shows a failed call on a form: field errors by their fields,
 * anything else in the form's .form-error (or the given element).
 */
export function showError(form, err, target = form.querySelector('.form-error')) {
  if (err instanceof ApiError && err.status === 400 && err.fields) {
    const rest = showFieldErrors(form, err.fields);
    if (rest.length && target) target.textContent = rest.join(' ');
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
    return;
  }
  if (target) target.textContent = errorText(err);
}

/** setNotice shows (or with '' hides) a status line. */
export function setNotice(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

/**
 * confirm asks a question in the page's own dialog (window.confirm would block
 * the page and cannot be styled or driven by tests); it resolves to true when
 * the user chose the OK button.
 */
export function confirm({ title, body, ok }) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-body').textContent = body;
  $('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}
