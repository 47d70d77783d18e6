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

  // "Copy" buttons copy the text of their target (the chat widget's snippet).
  document.querySelectorAll("[data-copy]").forEach((button) => {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent);
      button.textContent = "Copied";
    });
  });
});
