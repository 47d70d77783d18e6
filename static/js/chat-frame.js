// The chat window, inside the widget's iframe (the app's own origin). It talks to the app with
// same-origin fetches, and to the website around it (the loader, chat/widget/loader.js) with
// postMessage to that website's exact origin. Text from anyone goes in with textContent only.
(() => {
  const root = document.getElementById("chat");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const OPEN_POLL_MS = 1500; // the visitor sees a reply within about this (README, "Chat")
  const CLOSED_POLL_MS = 15000; // closed: only the launcher's unread badge needs it
  const storageKey = `meetings-chat:${root.dataset.key}`;
  const embedded = window.parent !== window;
  const parentOrigin = pickParentOrigin();
  const state = {
    visitor: root.dataset.visitor || loadVisitor(),
    lastId: 0,
    readUpto: 0,
    email: "",
    open: !embedded,
    timer: null,
    polling: false,
    wroteOnce: false,
    emailDismissed: false,
    smallScreen: window.matchMedia("(max-width: 599px)").matches, // the loader tells, when framed
  };

  // --- The visitor id ----------------------------------------------------------------------
  // Kept in three places, whichever the browser allows: the frame's cookie (read by the server
  // into data-visitor), the frame's own localStorage, and the website's localStorage, which the
  // loader holds and passes here explicitly (a frame on another site gets no storage at all
  // where third-party storage is blocked). All of them are per website: nothing crosses sites.
  const VISITOR_RE = /^[A-Za-z0-9_-]{32}$/;

  function loadVisitor() {
    try { return localStorage.getItem(storageKey) || ""; } catch (error) { return ""; }
  }

  function storeVisitor(id) {
    try { localStorage.setItem(storageKey, id); } catch (error) { /* blocked: the website keeps it */ }
    tellParent({ type: "chat:visitor", id });
  }

  function keepVisitor(id) {
    if (!id || id === state.visitor) return;
    state.visitor = id;
    storeVisitor(id);
  }

  function adoptVisitor(id) {
    if (state.visitor || !VISITOR_RE.test(id || "")) return;
    state.visitor = id;
    storeVisitor(id);
    poll();
  }

  // --- The website around the frame ---------------------------------------------------------
  function pickParentOrigin() {
    if (!embedded) return "";
    const allowed = (root.dataset.allowedOrigins || "").split(" ").filter(Boolean);
    const candidates = [root.dataset.parentOrigin];
    if (location.ancestorOrigins && location.ancestorOrigins.length) candidates.push(location.ancestorOrigins[0]);
    try { if (document.referrer) candidates.push(new URL(document.referrer).origin); } catch (error) { /* none */ }
    return candidates.find((origin) => origin && allowed.includes(origin)) || "";
  }

  function tellParent(message) {
    if (parentOrigin) window.parent.postMessage(message, parentOrigin);
  }

  // --- Calls to the app ---------------------------------------------------------------------
  async function call(url, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.visitor) headers["X-Chat-Visitor"] = state.visitor;
    const response = await fetch(url, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    if (response.status !== 204) {
      try { data = await response.json(); } catch (error) { data = {}; }
    }
    if (data.visitor) keepVisitor(data.visitor);
    return { ok: response.ok, status: response.status, data };
  }

  function firstError(data, fallback) {
    const errors = Object.values(data.errors || {});
    return errors[0] || data.error || fallback;
  }

  // --- Messages -----------------------------------------------------------------------------
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(message) {
    if (message.id <= state.lastId) return;
    state.lastId = message.id;
    const item = element("li", `message from-${message.author}`);
    item.dataset.id = message.id;
    if (message.author === "team") item.append(element("span", "sender", message.name || "Team"));
    item.append(element("p", "bubble", message.body));
    if (message.booking && message.booking.manage_url) {
      const link = element("a", "", "Manage or cancel this meeting");
      link.href = message.booking.manage_url;
      link.target = "_blank";
      link.rel = "noopener";
      item.append(link);
    }
    const at = element("time", "at", clock.format(new Date(message.at)));
    at.dateTime = message.at;
    item.append(at);
    $("messages").append(item);
    if (message.author === "visitor") state.wroteOnce = true;
  }

  function scrollToEnd() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  function unread() {
    return [...document.querySelectorAll(".message[data-id]:not(.from-visitor)")]
      .filter((item) => Number(item.dataset.id) > state.readUpto).length;
  }

  async function markRead() {
    if (!state.open || document.visibilityState === "hidden" || state.lastId <= state.readUpto) return;
    state.readUpto = state.lastId;
    tellParent({ type: "chat:unread", count: 0 });
    try {
      await call(root.dataset.readUrl, { method: "POST", body: { upto: state.readUpto } });
    } catch (error) { /* next time */ }
  }

  function afterNews(count) {
    if (count) scrollToEnd();
    askForEmail();
    if (state.open) markRead();
    else tellParent({ type: "chat:unread", count: unread() });
  }

  async function poll() {
    clearTimeout(state.timer);
    if (state.polling || !state.visitor) return;
    state.polling = true;
    try {
      const { ok, data } = await call(`${root.dataset.messagesUrl}?after=${state.lastId}`);
      if (ok && data.conversation) {
        data.messages.forEach(show);
        state.readUpto = Math.max(state.readUpto, data.read_upto || 0);
        state.email = data.email || state.email;
        afterNews(data.messages.length);
      }
    } catch (error) { /* offline for a moment: the next poll catches up */ }
    state.polling = false;
    schedule();
  }

  function schedule() {
    clearTimeout(state.timer);
    if (!state.visitor || document.visibilityState === "hidden") return;
    state.timer = setTimeout(poll, state.open ? OPEN_POLL_MS : CLOSED_POLL_MS);
  }

  // --- Writing ------------------------------------------------------------------------------
  async function send(event) {
    event.preventDefault();
    const box = $("body");
    const text = box.value.trim();
    const error = $("send-error");
    error.hidden = true;
    if (!text) return;
    $("send").disabled = true;
    try {
      const { ok, data } = await call(root.dataset.messagesUrl, {
        method: "POST", body: { body: text, origin: parentOrigin },
      });
      if (ok) {
        box.value = "";
        show(data.message);
        afterNews(1);
        schedule();
      } else {
        error.textContent = firstError(data, "The message could not be sent.");
        error.hidden = false;
      }
    } catch (failure) {
      error.textContent = "The message could not be sent. Check your connection and try again.";
      error.hidden = false;
    } finally {
      $("send").disabled = false;
      box.focus();
    }
  }

  function askForEmail() {
    $("contact-form").hidden = !(state.wroteOnce && !state.email && !state.emailDismissed);
  }

  async function saveEmail(event) {
    event.preventDefault();
    const error = $("contact-error");
    error.hidden = true;
    const { ok, data } = await call(root.dataset.contactUrl, {
      method: "POST",
      body: { email: $("contact-email").value, origin: parentOrigin },
    });
    if (!ok) {
      error.textContent = firstError(data, "Your email could not be saved.");
      error.hidden = false;
      return;
    }
    state.email = data.email;
    $("contact-form").hidden = true;
    const note = $("contact-note");
    note.textContent = `Thanks! We'll reply to ${data.email} if you leave.`;
    note.hidden = false;
  }

  // --- Booking a meeting --------------------------------------------------------------------
  async function book() {
    // On a small screen the page opens in a tab of its own. The tab must be opened in the
    // click itself, or browsers block it as a pop-up.
    const tab = state.smallScreen ? window.open("", "_blank") : null;
    const { ok, data } = await call(root.dataset.bookingUrl, { method: "POST", body: { origin: parentOrigin } });
    if (!ok) {
      if (tab) tab.close();
      $("send-error").textContent = firstError(data, "The booking page could not be opened.");
      $("send-error").hidden = false;
      return;
    }
    if (tab) {
      tab.opener = null;
      tab.location.href = data.url;
      $("tab-note").hidden = false;
      schedule();
      return;
    }
    $("booking-frame").src = data.url;
    $("chat-view").hidden = true;
    $("booking-view").hidden = false;
    tellParent({ type: "chat:size", size: "large" });
    $("back-to-chat").focus();
  }

  function backToChat() {
    $("booking-view").hidden = true;
    $("booking-frame").src = "about:blank";
    $("chat-view").hidden = false;
    tellParent({ type: "chat:size", size: "normal" });
    $("body").focus();
  }

  // --- Messages from the booking page and from the website ----------------------------------
  window.addEventListener("message", (event) => {
    const data = event.data || {};
    const bookingFrame = $("booking-frame");
    if (bookingFrame && event.origin === location.origin && event.source === bookingFrame.contentWindow) {
      if (data.type === "meeting-booked") {
        backToChat();
        poll(); // the conversation shows the booked time
      }
      return;
    }
    if (!parentOrigin || event.origin !== parentOrigin || event.source !== window.parent) return;
    if (data.type === "chat:state") {
      adoptVisitor(data.visitor);
      const opening = data.open && !state.open;
      state.open = Boolean(data.open);
      state.smallScreen = Boolean(data.small);
      if (opening) {
        $("body").focus();
        scrollToEnd();
        markRead();
        poll();
      } else {
        schedule();
      }
    }
  });

  // --- Start --------------------------------------------------------------------------------
  for (const time of document.querySelectorAll("time[data-local-time]")) {
    const at = new Date(time.dateTime);
    time.textContent = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" }).format(at);
  }
  if (embedded && parentOrigin) {
    $("close").hidden = false;
    $("close").addEventListener("click", () => tellParent({ type: "chat:close" }));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") tellParent({ type: "chat:close" });
    });
  }
  $("compose").addEventListener("submit", send);
  $("body").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("compose").requestSubmit();
    }
  });
  $("contact-form").addEventListener("submit", saveEmail);
  $("contact-dismiss").addEventListener("click", () => {
    state.emailDismissed = true;
    askForEmail();
    $("body").focus();
  });
  if ($("book")) {
    $("book").addEventListener("click", book);
    $("back-to-chat").addEventListener("click", backToChat);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") poll();
  });
  if (state.visitor) {
    storeVisitor(state.visitor);
    poll();
  }
})();
