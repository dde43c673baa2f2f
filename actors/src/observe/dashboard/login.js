// The dashboard behind the control token: the token typed here (or given in the address's
// fragment, #token=…, which never reaches the server) is kept for this tab in sessionStorage,
// and the dashboard is fetched with it as a bearer header and put in place of this page.
"use strict";

// In a function: the dashboard's script runs in this same window after document.write.
(() => {
  const KEY = "mmbot-control-token";

  async function open(token) {
    const state = document.getElementById("login-state");
    const r = await fetch("/", { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    if (r.status === 200) {
      sessionStorage.setItem(KEY, token);
      const html = await r.text();
      document.open();
      document.write(html);
      document.close();
      return;
    }
    sessionStorage.removeItem(KEY);
    state.className = "bad";
    state.textContent = r.status === 429
      ? `too many wrong tokens from this address: try again in ${r.headers.get("Retry-After") || "60"} s`
      : "that token was refused";
  }

  const fragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fragment) history.replaceState(null, "", location.pathname);
  const remembered = fragment || sessionStorage.getItem(KEY);
  if (remembered) open(remembered);

  document.getElementById("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = document.getElementById("token").value.trim();
    if (token) open(token);
  });
})();
