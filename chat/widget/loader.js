/*
 * Meetings chat widget. Paste on your website (README, "Chat widget"):
 *
 *   <script src="https://YOUR-MEETINGS-HOST/chat/widget.js" data-key="YOUR-KEY" async></script>
 *
 * It adds one element to the page: a launcher button in a shadow root (the page's CSS cannot
 * reach it) and, once needed, an iframe of the Meetings app where the chat itself lives. It
 * reads nothing from the page. It keeps the visitor's chat id in this website's localStorage
 * and hands it to the frame, because browsers that block third-party storage give the frame
 * none: the id is random, per website, and means nothing anywhere else. No cookies, no
 * tracking, no framework, no build step.
 */
(() => {
  "use strict";
  const script = document.currentScript
    || document.querySelector('script[src*="/chat/widget.js"][data-key]');
  const key = script && script.getAttribute("data-key");
  if (!key || window.__meetingsChat) return;
  window.__meetingsChat = true;

  const appOrigin = new URL(script.src, location.href).origin;
  const frameUrl = `${appOrigin}/chat/w/${encodeURIComponent(key)}/?origin=${encodeURIComponent(location.origin)}`;
  const color = /^#[0-9a-f]{3,8}$/i.test(script.getAttribute("data-color") || "")
    ? script.getAttribute("data-color") : "#0b7a75";
  const storageKey = `meetings-chat:${key}`;
  const VISITOR_RE = /^[A-Za-z0-9_-]{32}$/;
  const small = window.matchMedia("(max-width: 599px)");
  let frame = null;
  let frameReady = false;
  let open = false;
  let size = "normal";

  // Styles are set through the CSSOM (never a <style> element or style attribute), so a
  // website's Content-Security-Policy does not have to allow inline styles for the widget.
  function css(element, styles) {
    for (const [name, value] of Object.entries(styles)) element.style.setProperty(name, value, "important");
  }

  const host = document.createElement("div");
  host.setAttribute("data-meetings-chat", "");
  css(host, { all: "initial", position: "fixed", right: "20px", bottom: "20px", "z-index": "2147483000" });
  const root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-label", "Open chat");
  button.setAttribute("aria-expanded", "false");
  css(button, {
    all: "initial", display: "grid", "place-items": "center", width: "56px", height: "56px",
    "border-radius": "50%", background: color, color: "#fff", cursor: "pointer",
    "box-shadow": "0 4px 14px rgba(0,0,0,.25)", position: "relative",
  });
  const svgNS = "http://www.w3.org/2000/svg";
  const icon = document.createElementNS(svgNS, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "26");
  icon.setAttribute("height", "26");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(svgNS, "path");
  path.setAttribute("fill", "currentColor");
  const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  const CLOSE_ICON = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z";
  path.setAttribute("d", CHAT_ICON);
  icon.append(path);
  const badge = document.createElement("span");
  badge.setAttribute("aria-hidden", "true");
  css(badge, {
    all: "initial", position: "absolute", top: "-4px", right: "-4px", "min-width": "20px", height: "20px",
    "border-radius": "10px", background: "#c0392b", color: "#fff", font: "700 12px/20px system-ui, sans-serif",
    "text-align": "center", padding: "0 5px", "box-sizing": "border-box", display: "none",
  });
  button.append(icon, badge);
  root.append(button);

  function layout() {
    if (!frame) return;
    const base = {
      position: "fixed", border: "0", background: "#fff", "color-scheme": "light",
      "box-shadow": "0 8px 30px rgba(0,0,0,.25)", display: open ? "block" : "none",
    };
    if (small.matches) {
      css(frame, { ...base, inset: "0", width: "100vw", height: "100%", "border-radius": "0" });
    } else if (size === "large") {
      css(frame, {
        ...base, inset: "auto", right: "20px", bottom: "88px", "border-radius": "12px",
        width: "min(760px, calc(100vw - 40px))", height: "min(760px, calc(100vh - 108px))",
      });
    } else {
      css(frame, {
        ...base, inset: "auto", right: "20px", bottom: "88px", "border-radius": "12px",
        width: "min(380px, calc(100vw - 40px))", height: "min(620px, calc(100vh - 108px))",
      });
    }
    css(button, { display: open && small.matches ? "none" : "grid" });
  }

  function storedVisitor() {
    try { return localStorage.getItem(storageKey) || ""; } catch (error) { return ""; }
  }

  function tellFrame() {
    if (!frameReady) return;
    const message = { type: "chat:state", open, small: small.matches, visitor: storedVisitor() };
    frame.contentWindow.postMessage(message, appOrigin);
  }

  function makeFrame() {
    if (frame) return;
    frame = document.createElement("iframe");
    frame.title = "Chat";
    frame.src = frameUrl;
    frame.addEventListener("load", () => {
      frameReady = true;
      tellFrame();
    });
    root.append(frame);
    layout();
  }

  function setOpen(value) {
    open = value;
    makeFrame();
    button.setAttribute("aria-expanded", String(open));
    button.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    path.setAttribute("d", open ? CLOSE_ICON : CHAT_ICON);
    if (open) css(badge, { display: "none" });
    layout();
    tellFrame();
    if (open) frame.focus();
    else button.focus();
  }

  button.addEventListener("click", () => setOpen(!open));
  small.addEventListener("change", () => {
    layout();
    tellFrame();
  });

  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || event.origin !== appOrigin) return;
    const data = event.data || {};
    if (data.type === "chat:close") setOpen(false);
    else if (data.type === "chat:size") { size = data.size === "large" ? "large" : "normal"; layout(); }
    else if (data.type === "chat:visitor" && VISITOR_RE.test(data.id || "")) {
      try { localStorage.setItem(storageKey, data.id); } catch (error) { /* no storage at all */ }
    } else if (data.type === "chat:unread") {
      const count = Math.max(0, Number(data.count) || 0);
      badge.textContent = count > 9 ? "9+" : String(count);
      css(badge, { display: count && !open ? "block" : "none" });
      button.setAttribute("aria-label", count && !open ? `Open chat, ${count} unread` : open ? "Close chat" : "Open chat");
    }
  });

  function start() {
    document.body.append(host);
    // A visitor who chatted before gets the frame (hidden) at once, so a reply shows a badge.
    if (storedVisitor()) makeFrame();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
