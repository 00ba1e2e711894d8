// What a user of upsd.users may do to a UPS from the page: run its instant
// commands, change its settings, set FSD.  Each goes through the JSON API
// with the credentials typed into the sign-in form, and the server checks
// NUT's rights, as upsd does for upscmd and upsrw.

import {outcome, runCommand, setFsd, setVariable, signedInAs, signIn, signOut, onSignIn}
  from "./api.js";
import {fill, h} from "./dom.js";

// Commands that cut or cycle the power to the load ask to be clicked twice.
const CUTS_POWER = /(^|\.)(load\.off|load\.cycle|shutdown)(\.|$)/;
const ARMED_FOR = 5000;  // ms the second click may take

export function signInForm() {
  const el = h("div", {class: "signin"});
  let user = null;

  function render() {
    const who = signedInAs();
    if (who !== null) {
      fill(el, h("p", {}, "Commands and settings are sent as ", h("strong", {}, who), ". ",
        h("button", {type: "button", on: {click: signOut}}, "Forget")));
      return;
    }
    user = h("input", {name: "user", autocomplete: "username", required: true,
      autocapitalize: "none", spellcheck: "false"});
    const password = h("input", {name: "password", type: "password",
      autocomplete: "current-password"});
    fill(el, h("form", {class: "signin-form", on: {submit: (event) => {
      event.preventDefault();
      signIn(user.value, password.value);
    }}},
    h("label", {}, "User ", user), h("label", {}, "Password ", password),
    h("button", {type: "submit"}, "Sign in"),
    h("p", {class: "hint"}, "A user of upsd.users, with its rights there. Kept in this "
      + "page's memory only: a reload forgets it.")));
  }

  render();
  const off = onSignIn(render);
  return {el, close: off, focus() { if (user) user.focus(); }};
}

function show(output, {ok, text}) {
  output.textContent = text;
  output.dataset.ok = String(ok);
}

// A button that runs ``act`` (an API write) and shows its answer beside it;
// ``risky`` ones must be clicked a second time within ARMED_FOR.
function actionButton(label, output, act, {risky, signIn: askSignIn}) {
  let armed = null;
  const button = h("button", {type: "button", class: risky ? "risky" : null, on: {click: async () => {
    if (signedInAs() === null) {
      show(output, {ok: false, text: "Sign in first."});
      askSignIn();
      return;
    }
    if (risky && armed === null) {
      button.textContent = "Click again to confirm";
      button.classList.add("armed");
      armed = setTimeout(disarm, ARMED_FOR);
      return;
    }
    disarm();
    button.disabled = true;
    show(output, {ok: true, text: "…"});
    const answer = await act();
    button.disabled = false;
    show(output, outcome(answer));
  }}}, label);

  function disarm() {
    clearTimeout(armed);
    armed = null;
    button.textContent = label;
    button.classList.remove("armed");
  }

  return button;
}

export function commandTable(ups, askSignIn) {
  const rows = ups.commands.map((command) => {
    const output = h("output", {class: "result"});
    return h("tr", {dataset: {command: command.name}},
      h("td", {}, h("code", {}, command.name), h("div", {class: "hint"}, command.description)),
      h("td", {class: "act"}, actionButton("Run", output, () => runCommand(ups.name, command.name),
        {risky: CUTS_POWER.test(command.name), signIn: askSignIn}), output));
  });
  const fsdOutput = h("output", {class: "result"});
  rows.push(h("tr", {dataset: {command: "fsd"}},
    h("td", {}, h("strong", {}, "Forced shutdown (FSD)"), h("div", {class: "hint"},
      "Tells every upsmon of this UPS to shut its system down now, as upsmon -c fsd does.")),
    h("td", {class: "act"}, actionButton("Set FSD", fsdOutput, () => setFsd(ups.name),
      {risky: true, signIn: askSignIn}), fsdOutput)));
  return h("table", {class: "commands"}, h("tbody", {}, rows));
}

function choices(variable) {
  if (variable.enum) {
    const options = variable.enum.includes(variable.value)
      ? variable.enum : [variable.value, ...variable.enum];
    return h("select", {}, options.map((option) =>
      h("option", {value: option, selected: option === variable.value}, option)));
  }
  if (variable.range) {
    const [[low, high]] = variable.range;
    const one = variable.range.length === 1;
    return h("input", {type: one ? "number" : "text", inputmode: "decimal", min: one ? low : null,
      max: one ? high : null, step: "any", value: variable.value});
  }
  return h("input", {type: "text", value: variable.value,
    maxlength: variable.type === "string" ? variable.max_length : null,
  });
}

function limits(variable) {
  if (variable.enum) return `one of ${variable.enum.join(", ")}`;
  if (variable.range) return variable.range.map(([low, high]) => `${low} to ${high}`).join(" or ");
  if (variable.type === "string") return `text, at most ${variable.max_length} characters`;
  return "a number";
}

// The writable variables, as upsrw lists them: each with its current value,
// its choices (enum) or ranges, and a control to change it.  The current
// value follows the event stream; a control the user touched keeps what they
// typed until they save it.
export function settingsTable(ups, askSignIn) {
  const rows = new Map();  // variable -> {current, control, touched}
  const writable = Object.entries(ups.variables).filter(([, variable]) => variable.writable);
  const body = writable.map(([name, variable]) => {
    const current = h("span", {class: "current"}, variable.value);
    const control = choices(variable);
    const row = {current, control, touched: false};
    control.addEventListener("input", () => { row.touched = true; });
    rows.set(name, row);
    const output = h("output", {class: "result"});
    return h("tr", {dataset: {variable: name}},
      h("td", {}, h("code", {}, name), h("div", {class: "hint"}, variable.description)),
      h("td", {}, current, h("div", {class: "hint"}, limits(variable))),
      h("td", {class: "act"}, h("label", {class: "control"}, h("span", {class: "hidden"},
        `New value of ${name}`), control),
      actionButton("Save", output, async () => {
        const answer = await setVariable(ups.name, name, control.value);
        if (answer.ok) row.touched = false;
        return answer;
      }, {risky: false, signIn: askSignIn}), output));
  });
  const el = body.length
    ? h("table", {class: "settings"}, h("tbody", {}, body))
    : h("p", {class: "empty"}, "This UPS has no settings to change.");

  function update(name, value) {
    const row = rows.get(name);
    if (!row) return;
    row.current.textContent = value;
    if (!row.touched && document.activeElement !== row.control) {
      if (row.control.tagName === "SELECT"
          && ![...row.control.options].some((option) => option.value === value)) {
        row.control.prepend(h("option", {value}, value));
      }
      row.control.value = value;
    }
  }

  return {el, update};
}
