// The public booking page: month view of free days, times in the visitor's time zone, the form.
(() => {
  const root = document.getElementById("booking");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  // Set by the server for a valid manage link only; never taken from the address bar.
  const rescheduleUrl = root.dataset.rescheduleUrl || "";
  const state = { month: null, tz: null, duration: null, slots: {}, chosen: null, mode: "booking" };

  const tzSelect = $("timezone");
  const detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (detected && tzSelect.querySelector(`option[value="${detected}"]`)) tzSelect.value = detected;
  state.tz = tzSelect.value;
  state.duration = root.dataset.rescheduleDuration
    || ($("duration") ? $("duration").value : root.dataset.durations.split(",")[0]);

  const fmt = (opts) => new Intl.DateTimeFormat(undefined, { timeZone: state.tz, ...opts });
  const dayKey = (iso) => fmt({ year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date(iso)).reduce((a, p) => ({ ...a, [p.type]: p.value }), {});
  const keyOf = (parts) => `${parts.year}-${parts.month}-${parts.day}`;
  const pad = (n) => String(n).padStart(2, "0");

  function todayInTz() {
    const p = dayKey(new Date().toISOString());
    return { year: +p.year, month: +p.month };
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function loadMonth() {
    const { year, month } = state.month;
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const url = `${root.dataset.slotsUrl}?start=${year}-${pad(month)}-01&end=${year}-${pad(month)}-${pad(last)}`
      + `&tz=${encodeURIComponent(state.tz)}&duration=${state.duration}`
      + (root.dataset.rescheduleToken ? `&reschedule=${encodeURIComponent(root.dataset.rescheduleToken)}` : "");
    $("loading").textContent = "Loading free times…";
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    $("loading").textContent = response.ok ? "" : (body.error || "Free times could not be loaded.");
    state.slots = {};
    state.mode = body.mode || "booking";
    for (const slot of body.slots || []) {
      const key = keyOf(dayKey(slot.start));
      (state.slots[key] = state.slots[key] || []).push(slot);
    }
    showMode();
    renderMonth();
  }

  function showMode() {
    const note = $("mode-note");
    const messages = {
      offline: "The host's calendar is not connected: you can request a time and they will confirm it by email.",
      blocked: "Booking is not possible right now. Please try again later or contact the host directly.",
    };
    note.hidden = !messages[state.mode];
    note.textContent = messages[state.mode] || "";
    $("submit").textContent = rescheduleUrl ? "Move my meeting here"
      : state.mode === "offline" ? "Request this time" : "Confirm booking";
  }

  function renderMonth() {
    const { year, month } = state.month;
    const first = new Date(Date.UTC(year, month - 1, 1));
    $("month-label").textContent = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" }).format(first);
    const grid = $("month-grid");
    grid.innerHTML = "";
    const header = document.createElement("div");
    header.className = "month-row month-head";
    header.setAttribute("role", "row");
    for (let d = 0; d < 7; d++) {
      const cell = document.createElement("span");
      cell.setAttribute("role", "columnheader");
      cell.textContent = new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + d)));
      header.appendChild(cell);
    }
    grid.appendChild(header);
    const offset = (first.getUTCDay() + 6) % 7;
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    let row;
    for (let i = 0; i < offset + days; i++) {
      if (i % 7 === 0) {
        row = document.createElement("div");
        row.className = "month-row";
        row.setAttribute("role", "row");
        grid.appendChild(row);
      }
      const cell = document.createElement("span");
      cell.setAttribute("role", "gridcell");
      if (i >= offset) {
        const day = i - offset + 1;
        const key = `${year}-${pad(month)}-${pad(day)}`;
        const count = (state.slots[key] || []).length;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "day";
        button.textContent = day;
        button.disabled = count === 0;
        button.dataset.day = key;
        const label = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" })
          .format(new Date(Date.UTC(year, month - 1, day)));
        button.setAttribute("aria-label", count ? `${label}, ${count} times available` : `${label}, no times available`);
        button.addEventListener("click", () => chooseDay(key, label));
        cell.appendChild(button);
      }
      row.appendChild(cell);
    }
  }

  function chooseDay(key, label) {
    document.querySelectorAll(".day[aria-pressed]").forEach((b) => b.removeAttribute("aria-pressed"));
    const button = document.querySelector(`.day[data-day="${key}"]`);
    if (button) button.setAttribute("aria-pressed", "true");
    $("times-label").textContent = label;
    const list = $("time-list");
    list.innerHTML = "";
    for (const slot of state.slots[key] || []) {
      const item = document.createElement("li");
      const choice = document.createElement("button");
      choice.type = "button";
      choice.className = "btn time";
      choice.textContent = fmt({ hour: "2-digit", minute: "2-digit" }).format(new Date(slot.start));
      choice.addEventListener("click", () => chooseTime(slot, label));
      item.appendChild(choice);
      list.appendChild(item);
    }
    const firstTime = list.querySelector("button");
    if (firstTime) firstTime.focus();
  }

  function chooseTime(slot, label) {
    state.chosen = slot;
    const time = fmt({ hour: "2-digit", minute: "2-digit" });
    $("chosen-time").textContent = `${label}, ${time.format(new Date(slot.start))}–${time.format(new Date(slot.end))} (${state.tz})`;
    const form = $("booking-form");
    form.hidden = false;
    if (rescheduleUrl) form.querySelectorAll(".field").forEach((f) => { f.hidden = true; });
    (rescheduleUrl ? $("submit") : $("first_name")).focus();
  }

  function showErrors(body) {
    document.querySelectorAll(".field-error[data-for]").forEach((p) => { p.hidden = true; });
    const errors = body.errors || {};
    let general = body.error || "";
    for (const [name, message] of Object.entries(errors)) {
      const target = document.querySelector(`.field-error[data-for="${name}"]`);
      if (target) { target.textContent = message; target.hidden = false; } else { general = message; }
    }
    $("form-error").textContent = general;
    $("form-error").hidden = !general;
  }

  async function submit(event) {
    event.preventDefault();
    if (!state.chosen) return;
    const answers = {};
    document.querySelectorAll("[data-question]").forEach((q) => { answers[q.dataset.question] = q.value; });
    const url = rescheduleUrl || root.dataset.bookUrl;
    const payload = rescheduleUrl ? { start: state.chosen.start } : {
      start: state.chosen.start, duration: Number(state.duration), timezone: state.tz,
      first_name: $("first_name").value, last_name: $("last_name").value, email: $("email").value, answers,
    };
    $("submit").disabled = true;
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(payload),
      });
      const body = await response.json();
      if (response.ok && root.dataset.embed) {
        tellParent(body);
        showBooked(body);
        return;
      }
      if (response.ok) {
        location.assign(`${body.manage_url}?new=1`);
        return;
      }
      showErrors(body);
      if (response.status === 409) await loadMonth();
    } catch (error) {
      showErrors({ error: "The booking could not be sent. Check your connection and try again." });
    } finally {
      $("submit").disabled = false;
    }
  }

  // Embedded (?embed=1): the parent page hears of the booking, with a precise target origin
  // (never "*"): the frame's parent if it is one of the origins allowed to embed the page.
  function parentOrigin() {
    if (window.parent === window) return "";
    const allowed = (root.dataset.parentOrigins || "").split(" ").filter(Boolean);
    const candidates = [];
    if (location.ancestorOrigins && location.ancestorOrigins.length) candidates.push(location.ancestorOrigins[0]);
    try { if (document.referrer) candidates.push(new URL(document.referrer).origin); } catch (error) { /* no referrer */ }
    return candidates.find((origin) => allowed.includes(origin)) || "";
  }

  function tellParent(body) {
    const origin = parentOrigin();
    if (!origin) return;
    window.parent.postMessage(
      { type: "meeting-booked", start: body.start, end: body.end, page: root.dataset.page, status: body.status },
      origin,
    );
  }

  function showBooked(body) {
    for (const selector of [".booking-controls", ".booking-body", "#booking-form", "#mode-note"]) {
      const element = root.querySelector(selector);
      if (element) element.hidden = true;
    }
    const time = fmt({ hour: "2-digit", minute: "2-digit" });
    const day = fmt({ weekday: "long", day: "numeric", month: "long", year: "numeric" });
    const start = new Date(body.start);
    $("booked-title").textContent = body.status === "requested" ? "Request sent" : "You are booked";
    $("booked-time").textContent = `${day.format(start)}, ${time.format(start)}–${time.format(new Date(body.end))} (${state.tz})`;
    if (body.status === "requested") {
      $("booked-note").textContent = "The host will confirm this time, or propose another one, by email.";
    } else {
      $("booked-email").textContent = $("email").value;
    }
    $("booked-manage").href = body.manage_url;
    const booked = $("booked");
    booked.hidden = false;
    booked.focus();
  }

  function shiftMonth(delta) {
    let { year, month } = state.month;
    month += delta;
    if (month < 1) { month = 12; year -= 1; }
    if (month > 12) { month = 1; year += 1; }
    state.month = { year, month };
    $("time-list").innerHTML = "";
    $("booking-form").hidden = true;
    loadMonth();
  }

  $("prev-month").addEventListener("click", () => shiftMonth(-1));
  $("next-month").addEventListener("click", () => shiftMonth(1));
  $("back").addEventListener("click", () => { $("booking-form").hidden = true; });
  $("booking-form").addEventListener("submit", submit);
  tzSelect.addEventListener("change", () => { state.tz = tzSelect.value; loadMonth(); });
  if ($("duration")) $("duration").addEventListener("change", (e) => { state.duration = e.target.value; loadMonth(); });
  state.month = todayInTz();
  loadMonth();
})();
