// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Preselect the browser's time zone in time zone pickers that are still on the default.
  const detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("select[data-detect-tz]").forEach((select) => {
    if (detected && select.value === "UTC" && select.querySelector(`option[value="${detected}"]`)) {
      select.value = detected;
    }
  });
});
