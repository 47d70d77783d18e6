// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Preselect the browser's time zone in time zone pickers that are still on the default.
  const detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("select[data-detect-tz]").forEach((select) => {
    if (detected && select.value === "UTC" && select.querySelector(`option[value="${detected}"]`)) {
      select.value = detected;
    }
  });

  // Forms that undo something ask first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // "Insert" buttons put a placeholder at the cursor of their target field.
  document.querySelectorAll("[data-insert-into]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => {
      const field = document.getElementById(button.dataset.insertInto);
      const source = button.dataset.insertFrom && document.getElementById(button.dataset.insertFrom);
      const text = source ? source.value : button.dataset.insert;
      if (!field || !text) return;
      const start = field.selectionStart ?? field.value.length;
      const end = field.selectionEnd ?? field.value.length;
      field.value = field.value.slice(0, start) + text + field.value.slice(end);
      field.focus();
      field.selectionStart = field.selectionEnd = start + text.length;
    });
  });

  // "Copy link" buttons: the link is on the page either way; this puts it on the clipboard.
  const copyStatus = document.querySelector("[data-copy-status]");
  const announce = (text) => {
    if (!copyStatus) return;
    copyStatus.textContent = "";
    window.setTimeout(() => { copyStatus.textContent = text; }, 30);
  };
  const fallbackCopy = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  };
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = button.dataset.copy;
      let done = false;
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(text);
          done = true;
        }
      } catch (error) {
        done = false;
      }
      if (!done) done = fallbackCopy(text);
      announce(done ? (button.dataset.copied || "Link copied") : `Copy this link: ${text}`);
      if (done) {
        button.dataset.state = "copied";
        window.setTimeout(() => { delete button.dataset.state; }, 2000);
      }
    });
  });
});
