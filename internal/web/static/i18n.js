// Interface strings in English and Russian; the language follows the
// browser's preference (navigator.language).

const en = {
  loading: 'Loading…',
  account: 'Account',
  logIn: 'Log in',
  register: 'Register',
  login: 'Login',
  password: 'Password',
  loginHint: '3–32 letters, digits, “_”, “-” or “.”',
  avatarOptional: 'Avatar (optional)',
  chooseImage: 'Choose image…',
  remove: 'Remove',
  createAccount: 'Create account',
  messages: 'Messages',
  empty: 'No messages yet. Say hello!',
  newMessages: 'New messages ↓',
  message: 'Message',
  writeMessage: 'Write a message…',
  send: 'Send',
  cancel: 'Cancel',
  save: 'Save',
  edit: 'Edit',
  delete: 'Delete',
  edited: 'edited',
  editedAt: 'Edited {time}',
  close: 'Close',
  changeAvatar: 'Change avatar…',
  removeAvatar: 'Remove avatar',
  logOut: 'Log out',
  logOutAll: 'Log out on all devices',
  signedInAs: 'Signed in as {name}',
  you: 'you',
  deleteTitle: 'Delete message?',
  deleteBody: 'This message will be deleted for everyone.',
  editLabel: 'Edit message',
  editHint: 'Enter to save, Esc to cancel',
  loadingOlder: 'Loading older messages…',
  beginning: 'This is the beginning of the chat.',
  live: 'Live',
  connecting: 'Connecting…',
  polling: 'Live (polling)',
  offline: 'Offline, retrying…',
  sessionRevoked: 'You were logged out on this device.',
  sessionExpired: 'Your session has ended. Please log in again.',
  loggedOut: 'You have logged out.',
  registered: 'Account created. Welcome!',
  wrongCredentials: 'Wrong login or password.',
  tooMany: 'Too many attempts. Try again in {wait}.',
  tooManyNow: 'Too many attempts. Try again later.',
  seconds: '{n} s',
  minutes: '{n} min',
  networkError: 'Cannot reach the server. Check your connection.',
  serverError: 'Something went wrong ({status}). Please try again.',
  required: 'is required',
  imageTooLarge: 'must be at most 5 MiB',
  imageType: 'must be a JPEG, PNG, GIF or WebP image',
  counter: '{n} / {max}',
  tooLong: 'The message is too long.',
  avatarOf: 'Avatar of {name}',
};

const ru = {
  loading: 'Загрузка…',
  account: 'Аккаунт',
  logIn: 'Войти',
  register: 'Регистрация',
  login: 'Логин',
  password: 'Пароль',
  loginHint: '3–32 буквы, цифры, «_», «-» или «.»',
  avatarOptional: 'Аватар (необязательно)',
  chooseImage: 'Выбрать изображение…',
  remove: 'Убрать',
  createAccount: 'Создать аккаунт',
  messages: 'Сообщения',
  empty: 'Сообщений пока нет. Поздоровайтесь!',
  newMessages: 'Новые сообщения ↓',
  message: 'Сообщение',
  writeMessage: 'Напишите сообщение…',
  send: 'Отправить',
  cancel: 'Отмена',
  save: 'Сохранить',
  edit: 'Изменить',
  delete: 'Удалить',
  edited: 'изменено',
  editedAt: 'Изменено {time}',
  close: 'Закрыть',
  changeAvatar: 'Сменить аватар…',
  removeAvatar: 'Удалить аватар',
  logOut: 'Выйти',
  logOutAll: 'Выйти на всех устройствах',
  signedInAs: 'Вы вошли как {name}',
  you: 'вы',
  deleteTitle: 'Удалить сообщение?',
  deleteBody: 'Сообщение будет удалено для всех.',
  editLabel: 'Изменить сообщение',
  editHint: 'Enter — сохранить, Esc — отмена',
  loadingOlder: 'Загружаем более ранние сообщения…',
  beginning: 'Это начало чата.',
  live: 'В сети',
  connecting: 'Подключение…',
  polling: 'В сети (опрос)',
  offline: 'Нет связи, повторяем…',
  sessionRevoked: 'Вы вышли из аккаунта на этом устройстве.',
  sessionExpired: 'Сеанс завершён. Войдите снова.',
  loggedOut: 'Вы вышли из аккаунта.',
  registered: 'Аккаунт создан. Добро пожаловать!',
  wrongCredentials: 'Неверный логин или пароль.',
  tooMany: 'Слишком много попыток. Повторите через {wait}.',
  tooManyNow: 'Слишком много попыток. Повторите позже.',
  seconds: '{n} с',
  minutes: '{n} мин',
  networkError: 'Нет связи с сервером. Проверьте подключение.',
  serverError: 'Что-то пошло не так ({status}). Попробуйте ещё раз.',
  required: 'обязательное поле',
  imageTooLarge: 'не больше 5 МиБ',
  imageType: 'нужно изображение JPEG, PNG, GIF или WebP',
  counter: '{n} / {max}',
  tooLong: 'Сообщение слишком длинное.',
  avatarOf: 'Аватар {name}',
};

/** The interface language: Russian for ru-*, English otherwise. */
export const lang = (navigator.language || 'en').toLowerCase().startsWith('ru') ? 'ru' : 'en';

const dict = lang === 'ru' ? ru : en;

/** t returns the string for key with {name} placeholders filled from params. */
export function t(key, params = {}) {
  const s = dict[key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** translatePage fills the static markup's data-i18n* elements. */
export function translatePage(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}

// The server's field messages are English; the common ones are translated.
const ruServer = [
  [/^is required$/, 'обязательное поле'],
  [/^must be at least (\d+) characters$/, 'не короче $1 символов'],
  [/^must be at most (\d+) characters$/, 'не длиннее $1 символов'],
  [/^is already taken$/, 'уже занят'],
  [/^may contain only letters, digits.*$/, 'может содержать только буквы, цифры, «_», «-» и «.»'],
  [/^must not be blank$/, 'не может быть пустым'],
];

/** serverText shows a field message from the server in the page's language. */
export function serverText(msg) {
  if (lang !== 'ru') return msg;
  for (const [re, ru] of ruServer) if (re.test(msg)) return msg.replace(re, ru);
  return msg;
}

/** waitText renders a Retry-After wait in seconds as "42 s" or "3 min". */
export function waitText(seconds) {
  if (seconds < 90) return t('seconds', { n: Math.max(1, Math.ceil(seconds)) });
  return t('minutes', { n: Math.ceil(seconds / 60) });
}

const timeFmt = new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' });
const dayTimeFmt = new Intl.DateTimeFormat(lang, {
  day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit',
});
const fullFmt = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'medium' });

/** shortTime shows a Unix time as local time, with the date when not today. */
export function shortTime(unix) {
  const d = new Date(unix * 1000);
  const now = new Date();
  const today = d.toDateString() === now.toDateString();
  return (today ? timeFmt : dayTimeFmt).format(d);
}

/** fullTime shows a Unix time in full, for tooltips. */
export function fullTime(unix) {
  return fullFmt.format(new Date(unix * 1000));
}
