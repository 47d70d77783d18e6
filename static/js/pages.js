// The page editor's progressive enhancements: a search over the host list, and showing only
// the settings that apply to the chosen kind of page and video option. Without JavaScript
// every field is shown and works.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-page-form]");
  if (!form) return;

  // Search the host list (plain checkboxes underneath).
  const picker = form.querySelector("[data-member-picker]");
  if (picker) {
    const rows = [...picker.querySelectorAll("[data-member-row]")];
    const wrap = document.createElement("div");
    wrap.className = "field member-search";
    const label = document.createElement("label");
    label.htmlFor = "member-search";
    label.textContent = "Find a teammate";
    const input = document.createElement("input");
    input.type = "search";
    input.id = "member-search";
    input.autocomplete = "off";
    input.placeholder = "Name or email";
    const count = document.createElement("p");
    count.className = "help";
    count.setAttribute("role", "status");
    count.setAttribute("aria-live", "polite");
    wrap.append(label, input, count);
    picker.querySelector("table").before(wrap);
    const chosen = () => rows.filter((row) => {
      const box = row.querySelector("input[type=checkbox]");
      return box && box.checked;
    }).length;
    const show = () => {
      const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      rows.forEach((row) => {
        const match = words.every((word) => row.dataset.search.includes(word));
        row.hidden = !match;
        if (match) shown += 1;
      });
      count.textContent = `${shown} of ${rows.length} people shown · ${chosen() + 1} hosting`;
    };
    input.addEventListener("input", show);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault(); // searching, not saving
    });
    picker.addEventListener("change", show);
    show();
  }

  // Settings that apply only to some kinds of page or video options.
  const kind = form.querySelector("#id_kind");
  const video = form.querySelector("#id_conferencing");
  const fieldOf = (id) => form.querySelector(`#${id}`)?.closest(".field");
  const update = () => {
    const team = kind && kind.value !== "one_on_one";
    const roundRobin = kind && kind.value === "round_robin";
    form.querySelectorAll("[data-team-only]").forEach((el) => { el.hidden = !team; });
    form.querySelectorAll("[data-rr-only]").forEach((el) => { el.hidden = !roundRobin; });
    const routing = fieldOf("id_routing");
    if (routing) routing.hidden = !roundRobin;
    const link = fieldOf("id_video_link");
    if (link && video) link.hidden = video.value !== "fixed" && !link.querySelector(".field-error");
  };
  kind?.addEventListener("change", update);
  video?.addEventListener("change", update);
  update();
});
