// The weekly-hours editor (templates/meetings/hours_editor.html) without round trips.
// Without JavaScript its buttons submit the form and the server applies them
// (meetings/hours.py); here the same buttons do the same in the page, keeping the field
// names the server reads, moving focus where the keyboard needs it and announcing changes.
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  const minutes = (text) => {
    const match = /^(\d{1,2}):(\d{2})/.exec(text || "");
    return match ? Number(match[1]) * 60 + Number(match[2]) : null;
  };
  const clock = (total) => `${pad(Math.floor(total / 60) % 24)}:${pad(total % 60)}`;

  function setUp(editor) {
    const prefix = editor.dataset.prefix;
    const status = editor.querySelector("[data-hours-status]");
    const say = (text) => {
      status.textContent = "";
      window.setTimeout(() => { status.textContent = text; }, 30);
    };
    const rows = (day) => [...day.querySelectorAll("[data-row]")];
    const days = () => [...editor.querySelectorAll("[data-day]")];

    function renumber(day) {
      const index = day.dataset.day;
      const name = day.dataset.dayName;
      rows(day).forEach((row, n) => {
        row.querySelectorAll("input[data-part]").forEach((input) => {
          input.name = `${prefix}-${index}-${n}-${input.dataset.part}`;
        });
        row.querySelectorAll(".visually-hidden[data-which]").forEach((span) => {
          span.textContent = span.dataset.which === "remove"
            ? ` ${name} hours ${n + 1}` : `${name} hours ${n + 1} `;
        });
        row.querySelector("button[data-action=remove]").value = `remove-${index}-${n}`;
      });
      day.querySelector("[data-off]").hidden = rows(day).length > 0;
    }

    function field(labelText, part, value) {
      const label = document.createElement("label");
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.dataset.which = "label";
      label.append(hidden, `${labelText} `);
      const input = document.createElement("input");
      input.type = "time";
      input.dataset.part = part;
      input.value = value;
      label.append(input);
      return label;
    }

    function makeRow(start, end) {
      const row = document.createElement("li");
      row.className = "hours-row";
      row.dataset.row = "";
      const remove = document.createElement("button");
      remove.type = "submit";
      remove.className = "btn btn-link btn-danger";
      remove.name = `${prefix}-action`;
      remove.dataset.action = "remove";
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.dataset.which = "remove";
      remove.append("Remove", hidden);
      row.append(field("From", "start", start), " ", field("to", "end", end), " ", remove);
      return row;
    }

    // Server-rendered rows get the same markers as made ones, so renumbering finds them.
    editor.querySelectorAll("[data-row]").forEach((row) => {
      row.querySelectorAll("label > .visually-hidden").forEach((span) => {
        span.dataset.which = "label";
      });
      const removeText = row.querySelector("button[data-action=remove] .visually-hidden");
      if (removeText) removeText.dataset.which = "remove";
    });

    function add(day) {
      const list = day.querySelector("[data-rows]");
      const last = rows(day).at(-1);
      let start = "09:00";
      let end = "17:00";
      const lastEnd = last ? minutes(last.querySelector("[data-part=end]").value) : null;
      if (last && lastEnd !== null && lastEnd > 0 && lastEnd <= 21 * 60) {
        start = clock(lastEnd + 60);
        end = clock(lastEnd + 120);
      } else if (last) {
        start = end = "";
      }
      const row = makeRow(start, end);
      list.append(row);
      renumber(day);
      row.querySelector("input").focus();
      say(`Added hours ${rows(day).length} on ${day.dataset.dayName}.`);
    }

    function remove(day, row) {
      const list = rows(day);
      const at = list.indexOf(row);
      row.remove();
      renumber(day);
      const left = rows(day);
      const next = left[at] || left[at - 1];
      (next ? next.querySelector("input") : day.querySelector("button[data-action=add]")).focus();
      say(`Removed ${day.dataset.dayName} hours ${at + 1}.`);
    }

    function copy(source) {
      const values = rows(source).map((row) => [
        row.querySelector("[data-part=start]").value,
        row.querySelector("[data-part=end]").value,
      ]);
      days().forEach((day) => {
        if (day === source) return;
        const list = day.querySelector("[data-rows]");
        rows(day).forEach((row) => row.remove());
        values.forEach(([start, end]) => list.append(makeRow(start, end)));
        renumber(day);
      });
      say(values.length
        ? `Copied ${source.dataset.dayName}'s hours to every day.`
        : `Every day is now unavailable, like ${source.dataset.dayName}.`);
    }

    editor.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || !editor.contains(button)) return;
      event.preventDefault();
      const day = button.closest("[data-day]");
      if (button.dataset.action === "add") add(day);
      else if (button.dataset.action === "remove") remove(day, button.closest("[data-row]"));
      else if (button.dataset.action === "copy") copy(day);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-hours-editor]").forEach(setUp);
  });
})();
