// The conversations inbox: new messages of the open conversation appear as they come, and the
// list of conversations refreshes itself. Every text goes in with textContent, never markup.
(() => {
  const thread = document.getElementById("thread");
  const list = document.getElementById("conversation-list");
  const POLL_MS = 3000;
  const LIST_MS = 10000;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function line(message) {
    const item = document.createElement("li");
    item.className = `chat-line chat-line-${message.author}`;
    item.dataset.id = message.id;
    const who = document.createElement("span");
    who.className = "chat-who";
    who.textContent = message.author === "visitor" ? document.getElementById("thread-title").textContent
      : message.author === "team" ? (message.name || "Team") : "Meetings";
    const body = document.createElement("p");
    body.className = "chat-body";
    body.textContent = message.body;
    const at = document.createElement("time");
    at.className = "chat-at muted small";
    at.dateTime = message.at;
    at.textContent = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(new Date(message.at));
    item.append(who, body, at);
    return item;
  }

  async function pollThread() {
    let last = Number(thread.dataset.lastId || 0);
    try {
      const response = await fetch(`${thread.dataset.messagesUrl}?after=${last}`, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        const { messages } = await response.json();
        const log = document.getElementById("thread-messages");
        for (const message of messages) {
          if (message.id <= last) continue;
          log.append(line(message));
          last = message.id;
        }
        if (messages.length) {
          thread.dataset.lastId = String(last);
          log.scrollTop = log.scrollHeight;
          if (document.visibilityState === "visible") {
            await fetch(thread.dataset.readUrl, {
              method: "POST", headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams({ upto: String(last) }),
            });
          }
        }
      }
    } catch (error) { /* try again on the next round */ }
    setTimeout(pollThread, POLL_MS);
  }

  async function refreshList() {
    try {
      const response = await fetch(list.dataset.refreshUrl, { cache: "no-store" });
      // The fragment is rendered (and escaped) by Django's templates.
      if (response.ok) list.replaceChildren(...new DOMParser().parseFromString(await response.text(), "text/html").body.childNodes);
    } catch (error) { /* next round */ }
    setTimeout(refreshList, LIST_MS);
  }

  if (thread) {
    const log = document.getElementById("thread-messages");
    log.scrollTop = log.scrollHeight;
    setTimeout(pollThread, POLL_MS);
  }
  if (list) setTimeout(refreshList, LIST_MS);
})();
