// The page frame the officer console and the ops dashboard share: the brand (logo, name,
// subtitle) and the sign-in card. Each page's HTML keeps an empty `<div id="login-view">` and
// empty `.brand` placeholders; renderFrame() fills them before applyTranslations() puts in the
// text (all of it comes through data-i18n keys). Styles: /shared/base.css.

const LOGOS = {
  console:
    '<path d="M9 22v-9l7-5 7 5v9" fill="none" stroke="#fff" stroke-width="2.4" stroke-linejoin="round" />' +
    '<circle cx="16" cy="16.5" r="2.6" fill="#fff" />',
  ops: '<path d="M8 23V14M13 23V9M18 23v-6M23 23V12" fill="none" stroke="#fff" stroke-width="2.6" stroke-linecap="round" />',
};

function brandMarkup(logo, subtitleKey) {
  return (
    `<span class="logo" aria-hidden="true"><svg viewBox="0 0 32 32">` +
    `<rect width="32" height="32" rx="8" fill="currentColor" />${LOGOS[logo]}</svg></span>` +
    `<span><strong data-i18n="app.brand">LAPAK ASIK</strong><small data-i18n="${subtitleKey}"></small></span>`
  );
}

/**
 * logo: "console" or "ops"; subtitleKey: the brand's subtitle; titleKey: the sign-in heading.
 * The sign-in form has the ids both apps bind to: login-form, login-username, login-password,
 * login-error, login-submit, and [data-lang] buttons.
 */
export function renderFrame({ logo, subtitleKey, titleKey }) {
  const brand = brandMarkup(logo, subtitleKey);
  for (const node of document.querySelectorAll(".brand")) node.innerHTML = brand;
  document.getElementById("login-view").innerHTML = `
    <form id="login-form" class="login-card" autocomplete="on">
      <div class="brand brand-large">${brand}</div>
      <h1 data-i18n="${titleKey}"></h1>
      <label class="field"><span data-i18n="login.username"></span><input id="login-username" name="username" autocomplete="username" required autofocus /></label>
      <label class="field"><span data-i18n="login.password"></span><input id="login-password" name="password" type="password" autocomplete="current-password" required /></label>
      <p id="login-error" class="form-error" role="alert" hidden></p>
      <button id="login-submit" type="submit" class="btn btn-primary btn-block" data-i18n="login.submit"></button>
      <div class="lang-switch" role="group" data-i18n-aria="lang.switch">
        <button type="button" data-lang="id">Bahasa Indonesia</button>
        <button type="button" data-lang="en">English</button>
      </div>
    </form>`;
}
