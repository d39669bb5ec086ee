// The chatd web client's entry point: picks the view for the stored session
// and switches between the login forms and the chat.

import { api, ApiError, getToken, setToken } from './api.js';
import { AuthView } from './auth.js';
import { ChatView } from './chat.js';
import { t, translatePage } from './i18n.js';
import { $, errorText } from './ui.js';

async function main() {
  translatePage();
  const chat = new ChatView((notice) => {
    setToken('');
    auth.show(notice);
  });
  const auth = new AuthView((user) => chat.show(user));
  // Another tab logging out (or in) changes the stored token.
  window.addEventListener('storage', (ev) => {
    if (ev.key === 'chatd.token' && !ev.newValue) chat.end('');
  });
  $('loading').hidden = true;
  if (!getToken()) {
    auth.show();
    return;
  }
  try {
    chat.show(await api.authorized());
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      setToken('');
      auth.show(t('sessionExpired'));
      return;
    }
    // The token may still be good; keep it for the next try.
    auth.show(errorText(err));
  }
}

main();
